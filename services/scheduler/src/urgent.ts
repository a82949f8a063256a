import { isDatabaseUnavailable } from '@dwld/db';
import type { OutboxEntry } from '@dwld/db';
import { dispatchResult, type EventInput, type EventMeta, type LinkUrgent } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import type { Redis } from 'ioredis';
import { callFitsLease, leaseMarginMs, planRequest, resultEventId, urgentResultEventId, type AttemptFailure } from './decisions';
import type { DispatchParts } from './dispatch-parts';
import { settleFailedTry } from './failed-try';
import type { UrgentLink } from './dispatch-ledger';
import { outboxEntry } from './outbox-relay';

export interface UrgentOptions extends DispatchParts {
  redis: Redis;
  prefix: string;
  isStopping: () => boolean;
}

/** How long the marker of a handled link.urgent event is kept: far longer than any redelivery. */
const MARKER_TTL_MS = 7 * 24 * 3600 * 1000;

const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

type Marker = { stage: 'new' } | { stage: 'dispatched'; downloader: string; attempts: number } | { stage: 'done' };

/** Thrown to leave an event pending, to be handled again later (by any replica). */
export class RetryLater extends Error {
  override readonly name = 'RetryLater';
}

/**
 * link.urgent: a link the gateway accepted while PostgreSQL was down, dispatched from the event
 * itself, then written down once the database answers, so it is neither lost nor sent twice.
 *
 * A per-event marker in Redis (the store that delivered the event, so it is up) records how far
 * the handling got: `dispatched` (a downloader took it; only the writing down is left) and
 * `done`. A lock per event keeps two replicas from dispatching duplicates of one event at once.
 * The result of a dispatched urgent link goes to the outbox with its history row, once the
 * database takes them: not straight to the stream while it is down, since the gateway cannot
 * tell the person without the database either (it would only retry the event later).
 * When every downloader failed, the link is written down as a `links` row carrying the event id
 * (unique), and the regular polls retry it. An event the database cannot take yet is left
 * pending and handled again after URGENT_RETRY_S.
 */
export class UrgentDispatcher {
  private readonly logger: Logger;
  private readonly marginMs: number;

  constructor(private readonly options: UrgentOptions) {
    this.logger = options.logger.child({ component: 'urgent' });
    this.marginMs = leaseMarginMs(options.leaseMs);
  }

  readonly handle = async (event: LinkUrgent, meta: EventMeta): Promise<void> => {
    const key = this.markerKey(meta.eventId);
    const marker = await this.readMarker(key);
    if (marker.stage === 'done') return this.duplicate(meta);
    if (marker.stage === 'dispatched') return this.writeDownDispatched(event, meta, marker.downloader, marker.attempts);
    await this.withLock(key, async (lockedAt) => {
      // Another delivery may have finished while this one waited for the lock.
      const now = await this.readMarker(key);
      if (now.stage === 'done') return this.duplicate(meta);
      if (now.stage === 'dispatched') return this.writeDownDispatched(event, meta, now.downloader, now.attempts);
      await this.dispatchFromEvent(event, meta, lockedAt);
    });
  };

  private async dispatchFromEvent(event: LinkUrgent, meta: EventMeta, lockedAt: number): Promise<void> {
    const { store, directory, dispatcher, metrics } = this.options;
    const link = toUrgentLink(event, meta.eventId);
    // With the database up: a redelivery of an event already written down, or a pause to obey.
    // Down: dispatched from the event alone, routed with the downloaders last seen.
    // A queued row of the same person and link stands for it: the gateway's insert may have
    // been committed while its connection dropped (so it sent this event too), or the person
    // queued the link again. Sending from the event as well would dispatch the link twice.
    let state: 'written_down' | 'queued' | 'paused' | 'go' = 'go';
    let queuedId: number | null = null;
    try {
      if ((await store.findUrgent(meta.eventId)) !== null) state = 'written_down';
      else if ((queuedId = await store.findQueued(link.userId, link.url)) !== null) state = 'queued';
      else if (await store.isPaused()) state = 'paused';
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
    }
    if (state === 'written_down') return this.markDone(meta, 'duplicate');
    if (state === 'queued') {
      this.logger.info('urgent link is queued already: its row is dispatched instead', { eventId: meta.eventId, linkId: queuedId });
      return this.markDone(meta, 'queued');
    }
    if (state === 'paused') {
      // No result to tell: nothing was tried.
      const { id } = await store.writeDownUrgent(link, { sendAt: new Date(event.acceptedAt), attempts: 0, lastError: null, failed: false }, null);
      this.logger.info('dispatching is paused: urgent link queued instead', { eventId: meta.eventId, linkId: id });
      return this.markDone(meta, 'paused');
    }
    const plan = planRequest(event);
    if (!plan.ok) return this.writeDownFailed(event, meta, link, { kind: 'internal', message: `cannot be sent: ${plan.message}` }, true);
    const leaseEndsAt = lockedAt + this.options.leaseMs;
    const outcome = await dispatcher.attempt(event.host, plan.request, await directory.list(), () => {
      if (this.options.isStopping()) return 'stopping';
      return callFitsLease(Date.now(), leaseEndsAt, this.options.deadlineMs, this.marginMs) ? 'go' : 'out_of_time';
    });
    if (!outcome.ok && outcome.interrupted) throw new RetryLater('stopping before the urgent link was sent: left for later');
    if (outcome.ok) {
      const key = this.markerKey(meta.eventId);
      await this.options.redis.multi().hset(key, { stage: 'dispatched', downloader: outcome.downloader, attempts: '1' }).pexpire(key, MARKER_TTL_MS).exec();
      metrics.dispatched.inc({ downloader: outcome.downloader });
      metrics.dispatchLag.observe(Math.max(0, Date.now() - new Date(event.acceptedAt).getTime()) / 1000);
      this.logger.info('urgent link dispatched', { eventId: meta.eventId, downloader: outcome.downloader });
      return this.writeDownDispatched(event, meta, outcome.downloader, 1);
    }
    return this.writeDownFailed(event, meta, link, outcome.failure, false, outcome.unconfirmed ?? null);
  }

  /**
   * The history row and the result event of an urgent link a downloader took, in one
   * statement (the result to the outbox); then done. With the database down, both wait for a
   * later delivery.
   */
  private async writeDownDispatched(event: LinkUrgent, meta: EventMeta, downloader: string, attempts: number): Promise<void> {
    const result = this.resultEntry(event, meta, { linkId: null, ok: true, downloader, error: null, attempts, nextAttemptAt: null, failed: false }, urgentResultEventId(meta.eventId));
    try {
      const written = await this.options.store.recordUrgentDispatch(toUrgentLink(event, meta.eventId), downloader, new Date(event.acceptedAt), attempts, result);
      if (written) void this.options.relay.written([written]);
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      throw new RetryLater(`urgent link dispatched to "${downloader}"; the database is unavailable to record it, retrying later`);
    }
    await this.markDone(meta, 'dispatched');
  }

  /** No downloader took it: a queued (or failed) row carrying the event id, retried by the polls, and its result in the outbox with it. */
  private async writeDownFailed(event: LinkUrgent, meta: EventMeta, link: UrgentLink, failure: AttemptFailure, giveUp: boolean, unconfirmed: string | null = null): Promise<void> {
    const { store } = this.options;
    // The event's only try: the first, and the first to fail.
    const tried = { failure, attempt: 1, firstFailedAt: null, giveUp, unconfirmed, at: new Date() };
    const { written } = await settleFailedTry(this.options, tried, async (record, result) => {
      try {
        const told = (linkId: number) => this.resultEntry(event, meta, { linkId, attempts: 1, ...result }, resultEventId(linkId, 1));
        return await store.writeDownUrgent(link, { ...record, sendAt: record.nextAttemptAt ?? tried.at, failed: record.nextAttemptAt === null }, told);
      } catch (err) {
        if (!isDatabaseUnavailable(err)) throw err;
        throw new RetryLater(`no downloader took the urgent link (${failure.kind}) and the database is unavailable: retrying later`);
      }
    });
    this.logger.warn('urgent link not dispatched: written down for retries', { eventId: meta.eventId, linkId: written.id, reason: failure.kind, error: failure.message });
    if (written.told) void this.options.relay.written([written.told]);
    await this.markDone(meta, 'written_down');
  }

  /** The dispatch.result of an urgent link: who asked and where to answer come from the event. */
  private resultEntry(
    event: LinkUrgent,
    meta: EventMeta,
    outcome: Pick<EventInput<typeof dispatchResult>, 'linkId' | 'ok' | 'downloader' | 'error' | 'attempts' | 'nextAttemptAt' | 'failed'>,
    id: string,
  ): OutboxEntry {
    const { url, userId, chatId, messageId, replyMessageId } = event;
    return outboxEntry(dispatchResult, { urgentEventId: meta.eventId, url, userId, chatId, messageId, replyMessageId, ...outcome }, id);
  }

  private async withLock(key: string, work: (lockedAt: number) => Promise<void>): Promise<void> {
    const { redis, leaseMs, owner } = this.options;
    const lockKey = `${key}:lock`;
    const token = `${owner}:${Math.random().toString(36).slice(2)}`;
    const lockedAt = Date.now();
    if ((await redis.set(lockKey, token, 'PX', leaseMs, 'NX')) === null) {
      throw new RetryLater('this urgent link is being dispatched by another delivery: retrying later');
    }
    try {
      await work(lockedAt);
    } finally {
      await redis.eval(RELEASE_LOCK, 1, lockKey, token).catch(() => undefined);
    }
  }

  private async readMarker(key: string): Promise<Marker> {
    const fields = await this.options.redis.hgetall(key);
    if (fields.stage === 'done') return { stage: 'done' };
    if (fields.stage === 'dispatched' && fields.downloader) return { stage: 'dispatched', downloader: fields.downloader, attempts: Number(fields.attempts) || 1 };
    return { stage: 'new' };
  }

  private async markDone(meta: EventMeta, outcome: string): Promise<void> {
    const key = this.markerKey(meta.eventId);
    await this.options.redis.multi().hset(key, { stage: 'done' }).hdel(key, 'downloader').pexpire(key, MARKER_TTL_MS).exec();
    this.options.metrics.urgent.inc({ outcome });
  }

  private duplicate(meta: EventMeta): void {
    this.options.metrics.urgent.inc({ outcome: 'duplicate' });
    this.logger.info('urgent link already handled: duplicate delivery ignored', { eventId: meta.eventId, deliveries: meta.deliveries });
  }

  private markerKey(eventId: string): string {
    return `${this.options.prefix}:scheduler:urgent:${eventId}`;
  }
}

function toUrgentLink(event: LinkUrgent, eventId: string): UrgentLink {
  return {
    eventId,
    url: event.url,
    host: event.host,
    userId: BigInt(event.userId),
    chatId: BigInt(event.chatId),
    username: event.username,
    quality: event.quality,
    folder: event.folder,
    messageId: event.messageId,
    replyMessageId: event.replyMessageId,
  };
}
