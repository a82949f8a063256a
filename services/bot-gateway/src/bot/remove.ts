import type { Link } from '@dwld/db';
import { errorMessage } from '@dwld/errors';
import type { Logger } from '@dwld/logger';
import { textsForUser } from '../texts';
import { drawCard } from './card';
import type { BotDeps } from './context';

/**
 * Removes a link, the same whichever way it was asked for (✖ on its card, ✖ under /queue,
 * /remove <link>): the row goes, the person's own message goes, the card says "Removed" with
 * no buttons left (and goes after SERVICE_MESSAGE_TTL_S, like any service reply), and every
 * downloader is asked to drop the link too (it may have been handed over already); a
 * downloader that is down is only logged. False when the link was already gone.
 */
export async function removeLink(deps: BotDeps, link: Link, log: Logger): Promise<boolean> {
  const removed = await deps.links.remove(link.id);
  const chatId = String(link.chatId);
  if (link.messageId) await deps.outbox.delete(chatId, link.messageId).catch(() => undefined);
  // The row as it was removed holds the card's id even if the reply went out after `link` was read.
  const replyMessageId = removed?.replyMessageId ?? link.replyMessageId;
  if (removed && replyMessageId) {
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
