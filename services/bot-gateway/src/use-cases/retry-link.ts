import type { Link } from '@dwld/db';
import type { EventPublisher } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import { announceLinkAdded } from './announce-link';
import type { LinkQueue } from '../store/link-queue';
import { manageableLink, type LinkRefusal, type Requester } from './link-access';

export type RetryOutcome = { ok: true; link: Link } | { ok: false; why: LinkRefusal | 'not_failed' };

export interface RetryLinkDeps {
  links: Pick<LinkQueue, 'find' | 'requeue'>;
  publisher: EventPublisher;
  logger: Logger;
  clock: () => Date;
}

/**
 * "Try again" on a link that was given up: it is queued afresh and sent now, its tries counted
 * from zero. Only its owner or an admin may. Shared by every way in (the card's button today).
 */
export async function retryLink(deps: RetryLinkDeps, who: Requester, linkId: number, log: Logger = deps.logger): Promise<RetryOutcome> {
  const access = await manageableLink(deps.links, who, linkId);
  if (!access.ok) return access;
  const { link } = access;
  const requeued = await deps.links.requeue(link.id, deps.clock());
  if (!requeued) {
    const now = await deps.links.find(link.id);
    return { ok: false, why: now ? 'not_failed' : 'gone' };
  }
  await announceLinkAdded(deps.publisher, requeued, `link.added:${requeued.id}:again:${requeued.updatedAt.getTime()}`, log, 'link queued again');
  log.info('failed link queued again', { linkId: requeued.id });
  return { ok: true, link: requeued };
}
