import type { Link } from '@dwld/db';
import type { Logger } from '@dwld/logger';
import type { BotDeps } from './context';

/**
 * Removes a link from the queue, deletes its messages, and asks every downloader to drop it
 * too (it may have been handed over already); a downloader that is down is only logged.
 */
export async function removeLink(deps: BotDeps, link: Link, log: Logger, options: { deleteReply?: boolean } = {}): Promise<boolean> {
  const removed = await deps.links.remove(link.id);
  const chatId = String(link.chatId);
  if (link.messageId) await deps.outbox.delete(chatId, link.messageId).catch(() => undefined);
  if (options.deleteReply && link.replyMessageId) await deps.outbox.delete(chatId, link.replyMessageId).catch(() => undefined);
  const downloaders = await deps.db.downloader.findMany({ select: { name: true } });
  await Promise.all(
    downloaders.map(({ name }) =>
      deps.downloaders.deleteFromQueue(name, link.url).catch((err: unknown) => log.warn('DeleteFromQueue failed', { downloader: name, error: (err as Error).message })),
    ),
  );
  log.info('link removed', { linkId: link.id, wasQueued: removed !== null });
  return removed !== null;
}
