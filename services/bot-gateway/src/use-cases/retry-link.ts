import type { Link } from '@dwld/db';
import { linkAdded, type EventPublisher } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import type { LinkQueue } from '../store/link-queue';
import { manageableLink, type LinkRefusal, type Requester } from './link-access';
import { errorMessage } from '@dwld/errors';

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
  try {
    await deps.publisher.publish(
      linkAdded,
      {
        linkId: requeued.id,
        url: requeued.url,
        host: requeued.host,
        userId: String(requeued.userId),
        chatId: String(requeued.chatId),
        username: requeued.username,
        quality: requeued.quality,
        folder: requeued.folder,
        sendAt: requeued.sendAt.toISOString(),
      },
      { id: `link.added:${requeued.id}:again:${requeued.updatedAt.getTime()}` },
    );
  } catch (err) {
    // The row is the truth: schedulers poll the table, the event only wakes them sooner.
    log.warn('link queued again but link.added not published', { linkId: requeued.id, error: errorMessage(err) });
  }
  log.info('failed link queued again', { linkId: requeued.id });
  return { ok: true, link: requeued };
}
