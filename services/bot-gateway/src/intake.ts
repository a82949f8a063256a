import { randomUUID } from 'node:crypto';
import { isDatabaseUnavailable, type Link } from '@dwld/db';
import { validateLink, type LinkPolicy, type LinkRejection } from '@dwld/domain';
import { linkAdded, linkUrgent, type EventPublisher } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import type { LinkQueue } from './store/link-queue';
import { errorMessage } from '@dwld/errors';

export interface LinkRequest {
  raw: string;
  userId: string;
  chatId: string;
  username: string | null;
  /** The owner's name as Telegram shows it (null from the HTTP API). */
  ownerName?: string | null;
  /** The person's message that carried the link (deleted once the link is taken). */
  messageId: number | null;
  quality?: string;
  folder?: string | null;
}

export type IntakeOutcome =
  | { status: 'queued'; link: Link }
  | { status: 'duplicate'; link: Link }
  /** The same message was handled before and its link already handed over (a redelivered update). */
  | { status: 'handed_over'; url: string; downloader: string }
  | { status: 'rejected'; reason: LinkRejection }
  /** The database was down: published for immediate dispatch from the event itself. */
  | { status: 'urgent'; url: string; eventId: string }
  /** Neither the database nor Redis took it: the person must be told it was NOT queued. */
  | { status: 'not_queued'; url: string };

export interface IntakeOptions {
  links: LinkQueue;
  publisher: EventPublisher;
  logger: Logger;
  policy: LinkPolicy;
  defaultQuality: string;
  dispatchDelayMs: number;
  clock?: () => Date;
  /** Told every outcome (metrics). */
  onOutcome?: (outcome: IntakeOutcome) => void;
}

/**
 * Accepting one link, the same for chat messages and POST /links: validate, store, announce.
 * A link is only reported queued once PostgreSQL (or, when it is down, a Redis stream) holds it.
 */
export class LinkIntake {
  private readonly clock: () => Date;

  constructor(private readonly options: IntakeOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  async accept(request: LinkRequest): Promise<IntakeOutcome> {
    const outcome = await this.decide(request);
    this.options.onOutcome?.(outcome);
    return outcome;
  }

  private async decide(request: LinkRequest): Promise<IntakeOutcome> {
    const { links, publisher, logger, policy } = this.options;
    const checked = validateLink(request.raw, policy);
    if (!checked.ok) return { status: 'rejected', reason: checked.reason };
    const { url, host } = checked.link;
    const quality = request.quality ?? this.options.defaultQuality;
    const folder = request.folder ?? null;
    const now = this.clock();
    const sendAt = new Date(now.getTime() + this.options.dispatchDelayMs);

    let stored;
    try {
      stored = await links.add({ url, host, userId: request.userId, chatId: request.chatId, username: request.username, ownerName: request.ownerName ?? null, quality, folder, messageId: request.messageId, sendAt });
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      logger.warn('database unavailable: link goes for immediate dispatch', { userId: request.userId, host, error: errorMessage(err) });
      const eventId = randomUUID();
      try {
        await publisher.publish(
          linkUrgent,
          { url, host, userId: request.userId, chatId: request.chatId, username: request.username, quality, folder, messageId: request.messageId, replyMessageId: null, acceptedAt: now.toISOString() },
          { id: eventId },
        );
        return { status: 'urgent', url, eventId };
      } catch (publishErr) {
        logger.error('link NOT queued: database and Redis both unavailable', { userId: request.userId, host, error: errorMessage(publishErr) });
        return { status: 'not_queued', url };
      }
    }
    if ('handedOver' in stored) return { status: 'handed_over', url, downloader: stored.handedOver };
    if (!stored.created) return { status: 'duplicate', link: stored.existing };

    const link = stored.link;
    try {
      await publisher.publish(
        linkAdded,
        { linkId: link.id, url, host, userId: request.userId, chatId: request.chatId, username: request.username, quality, folder, sendAt: sendAt.toISOString() },
        { id: `link.added:${link.id}` },
      );
    } catch (err) {
      // The row is the truth: schedulers poll the table, the event only wakes them sooner.
      logger.warn('link stored but link.added not published', { linkId: link.id, error: errorMessage(err) });
    }
    return { status: 'queued', link };
  }
}
