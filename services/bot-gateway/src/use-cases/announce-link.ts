import type { Link } from '@dwld/db';
import { errorMessage } from '@dwld/errors';
import { linkAdded, type EventPublisher } from '@dwld/events';
import type { Logger } from '@dwld/logger';

/**
 * Tells the schedulers a queued row is waiting (link.added), from the row as stored. A failure
 * is only logged: the row is the truth, schedulers poll the table, the event only wakes them
 * sooner. `eventId` makes a repeat of the same announcement recognisable.
 */
export async function announceLinkAdded(publisher: EventPublisher, link: Link, eventId: string, log: Logger, what: string): Promise<void> {
  try {
    await publisher.publish(
      linkAdded,
      {
        linkId: link.id,
        url: link.url,
        host: link.host,
        userId: String(link.userId),
        chatId: String(link.chatId),
        username: link.username,
        quality: link.quality,
        folder: link.folder,
        sendAt: link.sendAt.toISOString(),
      },
      { id: eventId },
    );
  } catch (err) {
    log.warn(`${what} but link.added not published`, { linkId: link.id, error: errorMessage(err) });
  }
}
