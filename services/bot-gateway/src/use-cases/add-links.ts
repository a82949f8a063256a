import { randomUUID } from 'node:crypto';
import { isDatabaseUnavailable, type Link } from '@dwld/db';
import { validateLink, type LinkPolicy, type LinkRejection } from '@dwld/domain';
import { linkUrgent, type EventPublisher } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import { announceLinkAdded } from './announce-link';
import { errorMessage } from '@dwld/errors';
import type { LinkRateLimiter } from '../rate-limit';
import type { LinkQueue } from '../store/link-queue';
import type { PrivateHostCheck } from './private-host-check';
import { isFolderChoice, isQualityChoice, type LinkChoices } from './change-link';

export interface LinkRequest {
  raw: string;
  userId: string;
  chatId: string;
  username: string | null;
  /** The owner's name as Telegram shows it (null from the HTTP API). */
  ownerName?: string | null;
  /** The person's message that carried the link (deleted once the link is taken). */
  messageId: number | null;
  /** Chosen by the sender (POST /links): one of QUALITY_OPTIONS. */
  quality?: string;
  /**
   * The quality when none is chosen, in place of DEFAULT_QUALITY (POST /link: max, as the Go
   * bot's endpoint always sent). Not a choice, so not held to QUALITY_OPTIONS.
   */
  defaultQuality?: string;
  /** Chosen by the sender (POST /links): one of FOLDERS; null or absent for none. */
  folder?: string | null;
}

export type IntakeOutcome =
  | { status: 'queued'; link: Link }
  | { status: 'duplicate'; link: Link }
  /** The same message was handled before and its link already handed over (a redelivered update). */
  | { status: 'handed_over'; url: string; downloader: string }
  | { status: 'rejected'; reason: LinkRejection }
  /** The quality or folder chosen is not one on offer (QUALITY_OPTIONS, FOLDERS). */
  | { status: 'not_a_choice'; field: 'quality' | 'folder' }
  /** The database was down: published for immediate dispatch from the event itself. */
  | { status: 'urgent'; url: string; eventId: string }
  /** Neither the database nor Redis took it: the person must be told it was NOT queued. */
  | { status: 'not_queued'; url: string };

export interface AddLinksOptions {
  links: LinkQueue;
  publisher: EventPublisher;
  logger: Logger;
  policy: LinkPolicy;
  /** Refuses hosts whose name resolves only inward (unless policy.allowPrivateHosts). */
  hosts: Pick<PrivateHostCheck, 'resolvesInward' | 'warm'>;
  defaultQuality: string;
  dispatchDelayMs: number;
  choices: LinkChoices;
  /** MAX_LINKS_PER_MESSAGE: a message's links past it are left out. */
  maxPerMessage: number;
  /** LINKS_PER_MINUTE, per person, shared by every replica. */
  rate: LinkRateLimiter;
  /** The gateway's clock: a link's sendAt and the moment it was accepted. */
  clock: () => Date;
  /** Told every outcome (metrics). */
  onOutcome?: (outcome: IntakeOutcome) => void;
}

/** A message's links within MAX_LINKS_PER_MESSAGE, and how many were left out. */
export interface Capped {
  taken: string[];
  dropped: number;
}

/** The links this person may add now (LINKS_PER_MINUTE), how many may not, and when they may again. */
export interface Admitted {
  taken: string[];
  refused: number;
  retryAfterMs: number;
}

/**
 * The one way a link gets in, for chat messages and POST /links alike: validate, check where
 * its host resolves to, store, announce (add). A chat message's links are first held to the per-message cap (cap) and the
 * person's rate limit (admit); the HTTP API, for scripts, to neither. A link is only reported
 * queued once PostgreSQL (or, when it is down, a Redis stream) holds it.
 */
export class AddLinks {
  /** Whether the last rate-limit check could not reach Redis (the warning is said once per outage). */
  private rateLimitAway = false;
  constructor(private readonly options: AddLinksOptions) {}

  cap(found: readonly string[]): Capped {
    const taken = found.slice(0, this.options.maxPerMessage);
    return { taken, dropped: found.length - taken.length };
  }

  /**
   * Takes the links from this person's allowance: one Redis call for all of them. While Redis
   * cannot be asked, every link is let in (the per-message cap still holds): a limit that
   * refused everything would turn away links PostgreSQL can take and the schedulers dispatch.
   */
  async admit(userId: string, links: readonly string[]): Promise<Admitted> {
    let rate;
    try {
      rate = await this.options.rate.take(userId, links.length);
    } catch (err) {
      // Said once per outage, not at every message while Redis is away.
      if (!this.rateLimitAway) this.options.logger.warn('rate limit unavailable (Redis): links let in unlimited until it answers', { error: errorMessage(err) });
      this.rateLimitAway = true;
      return { taken: [...links], refused: 0, retryAfterMs: 0 };
    }
    if (this.rateLimitAway) this.options.logger.info('rate limit available again (Redis answers)');
    this.rateLimitAway = false;
    return { taken: links.slice(0, rate.allowed), refused: links.length - rate.allowed, retryAfterMs: rate.retryAfterMs };
  }

  /**
   * Starts resolving the hosts of links about to be added one by one, so that their lookups run
   * side by side rather than in turn.
   */
  prepare(raws: readonly string[]): void {
    const { policy, hosts } = this.options;
    // One link gains nothing from starting early; its check in add() is the only one.
    if (policy.allowPrivateHosts || raws.length < 2) return;
    hosts.warm(raws.flatMap((raw) => {
      const checked = validateLink(raw, policy);
      return checked.ok ? [checked.link.host] : [];
    }));
  }

  async add(request: LinkRequest): Promise<IntakeOutcome> {
    const outcome = await this.decide(request);
    this.options.onOutcome?.(outcome);
    return outcome;
  }

  private async decide(request: LinkRequest): Promise<IntakeOutcome> {
    const { links, publisher, logger, policy, choices } = this.options;
    if (request.quality !== undefined && !isQualityChoice(choices, request.quality)) return { status: 'not_a_choice', field: 'quality' };
    if (request.folder != null && !isFolderChoice(choices, request.folder)) return { status: 'not_a_choice', field: 'folder' };
    const checked = validateLink(request.raw, policy);
    if (!checked.ok) return { status: 'rejected', reason: checked.reason };
    const { url, host } = checked.link;
    if (!policy.allowPrivateHosts && (await this.options.hosts.resolvesInward(host))) return { status: 'rejected', reason: 'private_address' };
    const quality = request.quality ?? request.defaultQuality ?? this.options.defaultQuality;
    const folder = request.folder ?? null;
    const now = this.options.clock();
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
    await announceLinkAdded(publisher, link, `link.added:${link.id}`, logger, 'link stored');
    return { status: 'queued', link };
  }
}
