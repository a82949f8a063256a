import type { DownloaderPort } from '@dwld/contract';
import type { Link } from '@dwld/db';
import { extractLinks, validateLink } from '@dwld/domain';
import { errorMessage } from '@dwld/errors';
import type { Logger } from '@dwld/logger';
import { drawCard, type CardDeps } from '../bot/card';
import type { GatewayConfig } from '../config';
import type { DownloaderList } from '../store/downloaders';
import type { LinkQueue } from '../store/link-queue';
import type { TelegramOutbox } from '../telegram/outbox';
import { textsForUser } from '../texts';
import { manageableLink, type LinkRefusal, type Requester } from './link-access';

export interface RemoveLinkDeps extends CardDeps {
  config: CardDeps['config'] & Pick<GatewayConfig, 'SERVICE_MESSAGE_TTL_S' | 'MAX_LINK_LENGTH'>;
  links: Pick<LinkQueue, 'find' | 'findByUrl' | 'remove'>;
  outbox: Pick<TelegramOutbox, 'edit' | 'delete'>;
  fleet: Pick<DownloaderList, 'names'>;
  downloaders: Pick<DownloaderPort, 'remove'>;
  logger: Logger;
}

/** `removed`: false when the row was gone already (dispatched meanwhile); its card is still cleared. */
export type RemoveOutcome = { ok: true; removed: boolean } | { ok: false; why: LinkRefusal };

/** A link removed by its id (✖ on its card, ✖ under /queue), by its owner or an admin. */
export async function removeLink(deps: RemoveLinkDeps, who: Requester, linkId: number, log: Logger = deps.logger): Promise<RemoveOutcome> {
  const access = await manageableLink(deps.links, who, linkId);
  if (!access.ok) return access;
  return { ok: true, removed: await removeFound(deps, access.link, log) };
}

/**
 * /remove <link>: every queued link with that URL `who` may remove (an admin's: everyone's).
 * The link is read as a link is when it is sent, so any spelling of it matches; `url` is what
 * was looked for, `found` how many links were removed.
 */
export async function removeLinksByUrl(deps: RemoveLinkDeps, who: Requester, text: string, log: Logger = deps.logger): Promise<{ url: string; found: number }> {
  const raw = extractLinks(text)[0] ?? text;
  // Read only to spell it as it was stored: a private host is no reason to refuse removing it.
  const checked = validateLink(raw, { maxLength: deps.config.MAX_LINK_LENGTH, allowPrivateHosts: true });
  const url = checked.ok ? checked.link.url : raw;
  const found = await deps.links.findByUrl(url, who.role === 'admin' ? undefined : who.id);
  for (const link of found) await removeFound(deps, link, log);
  return { url, found: found.length };
}

/**
 * Removes a link, the same whichever way it was asked for: the row goes, the person's own
 * message goes, the card says "Removed" with no buttons left (and goes after
 * SERVICE_MESSAGE_TTL_S, like any service reply), and every downloader is asked to drop the
 * link too (it may have been handed over already); a downloader that is down is only logged.
 * False when the link was already gone.
 */
async function removeFound(deps: RemoveLinkDeps, link: Link, log: Logger): Promise<boolean> {
  const removed = await deps.links.remove(link.id);
  const chatId = String(link.chatId);
  if (link.messageId) await deps.outbox.delete(chatId, link.messageId).catch(() => undefined);
  // The row as it was removed holds the card's id even if the reply went out after `link` was read.
  const replyMessageId = removed?.replyMessageId ?? link.replyMessageId;
  if (removed && replyMessageId) {
    // The owner's words, or the default ones if they cannot be read: the link is gone either way.
    const owner = await deps.users.find(String(link.userId)).catch(() => null);
    const { card } = await drawCard(deps, link, { texts: textsForUser(owner, deps.config.DEFAULT_LANGUAGE), removed: true });
    await deps.outbox.edit({ chatId, messageId: replyMessageId, ...card }, { jobId: `card-removed-${link.id}` });
    if (deps.config.SERVICE_MESSAGE_TTL_S > 0) await deps.outbox.delete(chatId, replyMessageId, { delayMs: deps.config.SERVICE_MESSAGE_TTL_S });
  }
  const names = await deps.fleet.names();
  await Promise.all(
    names.map((name) => deps.downloaders.remove(name, link.url).catch((err: unknown) => log.warn('removal not passed on to a downloader', { downloader: name, error: errorMessage(err) }))),
  );
  log.info('link removed', { linkId: link.id, wasQueued: removed !== null });
  return removed !== null;
}
