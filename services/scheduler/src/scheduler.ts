import { isDatabaseUnavailable } from '@dwld/db';
import type { OutboxEntry } from '@dwld/db';
import { dispatchResult, type EncodedEntry, type EventInput } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import { Batcher } from '@dwld/runtime';
import { callFitsLease, leaseMarginMs, planRequest, resultEventId, type AttemptFailure } from './decisions';
import type { KnownDownloader } from './downloader-directory';
import type { DispatchParts } from './dispatch-parts';
import { settleFailedTry } from './failed-try';
import type { ClaimedLink, Settled } from './dispatch-ledger';
import { outboxEntry } from './outbox-relay';
import { errorMessage } from '@dwld/errors';

/** How old the remembered downloader list (used while the database is down) may get. */
const DIRECTORY_MAX_AGE_MS = 5_000;
/** Links renewed, recorded or announced in one statement at most. */
const MAX_GROUP = 500;
/** Looks for due links are at least this far apart when woken for a send time (not when slots free up). */
const MIN_WAKE_GAP_MS = 20;

export interface SchedulerOptions extends DispatchParts {
  intervalMs: number;
  batchSize: number;
  concurrency: number;
}

/**
 * The dispatch loop of one replica: every interval (or at once when woken), claim as many due
 * links as there are free dispatch slots, hand each to a downloader, and record the outcome.
 */
export class Scheduler {
  private readonly logger: Logger;
  private readonly marginMs: number;
  /**
   * Free slots worth a new claim while links are waiting: a claim per freed slot would cost a
   * query per link. Half the slots: measured best in the dispatch benchmark (a quarter claimed
   * twice as often for ~15% fewer links a second; three quarters left slots idle).
   */
  private readonly refillAt: number;
  private readonly inFlight = new Map<number, Promise<void>>();
  private stopping = false;
  private loopDone: Promise<void> | undefined;
  private wakePending = false;
  private wakeIdle: () => void = () => {};
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeTimerAt = Number.POSITIVE_INFINITY;
  /** The last poll found more due links than it could take: a freed slot should look again. */
  private saturated = false;
  private paused: boolean | undefined;
  private failingSince: number | undefined;
  private completedPolls = 0;
  // Group commit: the links of one replica are renewed, recorded and announced together, one
  // round trip for all that are ready at once, instead of one per link.
  private readonly renewals: Batcher<number, boolean>;
  private readonly completions: Batcher<{ link: ClaimedLink; downloader: string; told: OutboxEntry }, Settled>;
  /** Results that could not be written to the outbox: each one's publishing error, or null once it is on the stream. */
  private readonly direct: Batcher<EncodedEntry, string | null>;

  constructor(private readonly options: SchedulerOptions) {
    this.logger = options.logger.child({ component: 'scheduler' });
    this.marginMs = leaseMarginMs(options.leaseMs);
    this.refillAt = Math.max(1, Math.floor(Math.min(options.concurrency, options.batchSize) / 2));
    const { store, owner, leaseMs, publisher } = options;
    this.renewals = new Batcher(async (ids) => {
      const kept = await store.renew(ids, owner, leaseMs);
      return ids.map((id) => kept.has(id));
    }, { maxBatch: MAX_GROUP });
    this.completions = new Batcher((entries) => store.completeMany(entries, owner), { maxBatch: MAX_GROUP });
    this.direct = new Batcher(async (entries) => {
      try {
        await publisher.publishEncoded(entries);
        return entries.map(() => null);
      } catch {
        // One by one, so one bad event (or a hiccup) costs no other its announcement.
        const outcomes = await Promise.allSettled(entries.map((e) => publisher.publishEncoded([e])));
        return outcomes.map((o) => (o.status === 'fulfilled' ? null : errorMessage(o.reason)));
      }
    }, { maxBatch: MAX_GROUP });
  }

  /** Polls completed so far (tests wait on it instead of sleeping). */
  get polls(): number {
    return this.completedPolls;
  }

  get linksInFlight(): number {
    return this.inFlight.size;
  }

  start(): void {
    if (this.loopDone) throw new Error('The scheduler was already started');
    this.loopDone = this.loop();
  }

  /** Look for due links now (a link was added or its quality set). */
  wake(): void {
    this.wakePending = true;
    this.wakeIdle();
  }

  /** Look for due links at `at` (a link's send time), or now when it has passed. */
  wakeAt(at: Date): void {
    const atMs = at.getTime();
    const delay = atMs - Date.now();
    if (!(delay > 0)) return this.wake();
    // One timer, for the earliest time asked; later ones are left to the regular polls.
    if (this.stopping || atMs >= this.wakeTimerAt || delay > 2 ** 31 - 1) return;
    clearTimeout(this.wakeTimer);
    this.wakeTimerAt = atMs;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimerAt = Number.POSITIVE_INFINITY;
      this.wake();
    }, delay);
  }

  /**
   * Stops claiming, lets the calls in flight finish and records them; a link whose next call
   * has not started is released (claim cleared, no try counted) for another replica.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.wakeTimer);
    this.wake();
    await this.loopDone;
    await Promise.all(this.inFlight.values());
    try {
      // Nothing should be left; a claim whose outcome could not be recorded is let go here.
      const left = await this.options.store.releaseAll(this.options.owner);
      if (left > 0) this.logger.warn('released claims left behind', { count: left });
    } catch (err) {
      this.logger.warn('could not release claims on stop; they expire with their lease', { error: errorMessage(err) });
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let again = false;
      try {
        again = await this.poll();
        if (this.failingSince !== undefined) {
          this.logger.info('polling works again', { afterMs: Date.now() - this.failingSince });
          this.failingSince = undefined;
        }
      } catch (err) {
        this.options.metrics.polls.inc({ outcome: 'error' });
        if (this.failingSince === undefined) {
          this.failingSince = Date.now();
          const unavailable = isDatabaseUnavailable(err);
          this.logger[unavailable ? 'warn' : 'error'](unavailable ? 'database unavailable: cannot claim links' : 'poll failed', { error: errorMessage(err) });
        }
      }
      this.completedPolls++;
      if (this.stopping) break;
      if (!again) await this.idle(this.options.intervalMs);
    }
  }

  /** Waits for the interval or a wake-up, whichever comes first (at once if one is pending). */
  private idle(ms: number): Promise<void> {
    if (this.wakePending) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeIdle = () => {};
        this.wakePending = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeIdle = done;
    });
  }

  /** One look for due links; true when there is likely more to take right away. */
  private async poll(): Promise<boolean> {
    const { store, directory, metrics, owner, leaseMs } = this.options;
    await directory.refresh(DIRECTORY_MAX_AGE_MS);
    const free = this.options.concurrency - this.inFlight.size;
    if (free <= 0) {
      this.saturated = true;
      metrics.polls.inc({ outcome: 'busy' });
      return false;
    }
    const limit = Math.min(this.options.batchSize, free);
    // The lease started at the database's now(), after this: counting from here is on the safe side.
    const claimedAt = Date.now();
    const { paused, links, downloaders } = await store.claimRound(owner, limit, leaseMs);
    directory.remember(downloaders, claimedAt);
    if (paused !== this.paused) {
      if (this.paused !== undefined || paused) this.logger.info(paused ? 'dispatching is paused' : 'dispatching resumed');
      this.paused = paused;
      metrics.paused.set(paused ? 1 : 0);
    }
    if (paused) {
      metrics.polls.inc({ outcome: 'paused' });
      return false;
    }
    this.saturated = links.length === limit;
    if (!this.saturated) await this.wakeForNextSendTime();
    if (links.length === 0) {
      metrics.polls.inc({ outcome: 'idle' });
      return false;
    }
    metrics.polls.inc({ outcome: 'claimed' });
    metrics.claimed.inc(links.length);
    const leaseEndsAt = claimedAt + leaseMs;
    for (const link of links) this.track(link.id, this.dispatch(link, downloaders, leaseEndsAt));
    return this.saturated && links.length < free;
  }

  /**
   * Everything due was taken: look again when the next link falls due rather than at the next
   * interval (its link.added may have gone to another replica, or be long past).
   */
  private async wakeForNextSendTime(): Promise<void> {
    const next = await this.options.store.nextSendAt();
    if (next) this.wakeAt(new Date(Math.max(next.getTime(), Date.now() + MIN_WAKE_GAP_MS)));
  }

  private track(id: number, work: Promise<void>): void {
    this.inFlight.set(id, work);
    this.options.metrics.inFlight.set(this.inFlight.size);
    void work.finally(() => {
      this.inFlight.delete(id);
      this.options.metrics.inFlight.set(this.inFlight.size);
      if (this.saturated && !this.stopping && this.options.concurrency - this.inFlight.size >= this.refillAt) this.wake();
    });
  }

  /** Never rejects: a link whose outcome cannot be recorded keeps its claim until the lease ends. */
  private async dispatch(link: ClaimedLink, downloaders: readonly KnownDownloader[], leaseEndsAt: number): Promise<void> {
    const attempt = link.attempts + 1;
    try {
      const plan = planRequest({ ...link, userId: String(link.userId) });
      if (!plan.ok) {
        await this.settleFailure(link, attempt, { kind: 'internal', message: `cannot be sent: ${plan.message}` }, true, leaseEndsAt);
        return;
      }
      let firstCall = true;
      const outcome = await this.options.dispatcher.attempt(link.host, plan.request, downloaders, async () => {
        if (this.stopping) return 'stopping';
        // Fencing: a call goes out only under a claim this replica still holds. The first call,
        // while the fresh claim's lease still covers it and its recording, needs no round trip:
        // no other replica can have the link yet. Any other call (the next downloader after a
        // failure, or a replica slowed down) first extends the claim; a link removed meanwhile,
        // or taken over by another replica after a stall, is then left alone instead of sent.
        const first = firstCall;
        firstCall = false;
        if (first && callFitsLease(Date.now(), leaseEndsAt, this.options.deadlineMs, this.marginMs)) return 'go';
        const renewedAt = Date.now();
        if (!(await this.renewals.submit(link.id))) {
          this.logger.warn('claim lost before the call: leaving the link to its new owner', { linkId: link.id });
          this.options.metrics.claimsLost.inc();
          return 'out_of_time';
        }
        leaseEndsAt = renewedAt + this.options.leaseMs;
        return callFitsLease(Date.now(), leaseEndsAt, this.options.deadlineMs, this.marginMs) ? 'go' : 'out_of_time';
      }, link.unconfirmedDownloader);
      if (outcome.ok) await this.settleSuccess(link, attempt, outcome.downloader, leaseEndsAt);
      else if (outcome.interrupted) await this.releaseUnstarted(link);
      else await this.settleFailure(link, attempt, outcome.failure, false, leaseEndsAt, outcome.unconfirmed ?? null);
    } catch (err) {
      this.logger.error('could not settle a claimed link; it is retried when its claim expires', { linkId: link.id, error: errorMessage(err) });
    }
  }

  private async settleSuccess(link: ClaimedLink, attempt: number, downloader: string, leaseEndsAt: number): Promise<void> {
    const { metrics } = this.options;
    const told = this.resultEntry(link, attempt, { ok: true, downloader, error: null, nextAttemptAt: null, failed: false });
    try {
      // The row's delete, its history row and its result in the outbox: one statement.
      const settled = await this.persist(() => this.completions.submit({ link, downloader, told }), leaseEndsAt);
      if (settled.messages === null) this.logger.info('link was removed while it was being dispatched', { linkId: link.id, downloader });
      void this.options.relay.written([settled.told]);
    } catch (err) {
      // Told anyway, straight to the stream: the downloader has it. If another replica sends it again, its result has the same event id.
      this.logger.error('link dispatched but not recorded; it may be dispatched again', { linkId: link.id, downloader, error: errorMessage(err) });
      await this.publishDirect(link, attempt, told);
    }
    metrics.dispatched.inc({ downloader });
    metrics.dispatchLag.observe(Math.max(0, Date.now() - link.sendAt.getTime()) / 1000);
    this.logger.debug('link dispatched', { linkId: link.id, downloader, attempt });
  }

  private async settleFailure(link: ClaimedLink, attempt: number, failure: AttemptFailure, giveUp: boolean, leaseEndsAt: number, unconfirmed: string | null = null): Promise<void> {
    const { store, owner } = this.options;
    const tried = { failure, attempt, firstFailedAt: link.firstFailedAt, giveUp, unconfirmed, at: new Date() };
    const { written, record, gaveUp } = await settleFailedTry(this.options, tried, (record, result) =>
      this.persist(() => store.recordFailure(link, owner, record, this.resultEntry(link, attempt, result)), leaseEndsAt));
    const { nextAttemptAt } = record;
    this.logger[nextAttemptAt === null ? 'warn' : 'info'](nextAttemptAt === null ? 'link failed for good' : 'dispatch failed; will retry', {
      linkId: link.id,
      attempt,
      reason: failure.kind,
      error: failure.message,
      ...(gaveUp !== null ? { gaveUp } : {}),
      ...(nextAttemptAt ? { nextAttemptAt: nextAttemptAt.toISOString() } : {}),
      ...(unconfirmed ? { mayHoldIt: unconfirmed } : {}),
    });
    // Gone (removed meanwhile): nothing was written, nobody to tell.
    if (written !== null) void this.options.relay.written([written.told]);
  }

  private async releaseUnstarted(link: ClaimedLink): Promise<void> {
    await this.options.store.release([link.id], this.options.owner);
    this.options.metrics.released.inc();
    this.logger.debug('claim released: stopping', { linkId: link.id });
  }

  /** Runs a write, retrying while the database is unreachable, until the claim runs out. */
  private async persist<T>(write: () => Promise<T>, leaseEndsAt: number): Promise<T> {
    for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
      try {
        return await write();
      } catch (err) {
        if (!isDatabaseUnavailable(err) || Date.now() + delay >= leaseEndsAt) throw err;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /**
   * A try's dispatch.result, for the outbox, with the message ids as claimed (the ledger's
   * statement puts in the ones the row holds when it is settled).
   */
  private resultEntry(
    link: ClaimedLink,
    attempt: number,
    outcome: Pick<EventInput<typeof dispatchResult>, 'ok' | 'downloader' | 'error' | 'nextAttemptAt' | 'failed'>,
  ): OutboxEntry {
    const payload: EventInput<typeof dispatchResult> = {
      linkId: link.id,
      urgentEventId: link.urgentEventId,
      url: link.url,
      userId: String(link.userId),
      chatId: String(link.chatId),
      messageId: link.messageId,
      replyMessageId: link.replyMessageId,
      attempts: attempt,
      ...outcome,
    };
    return outboxEntry(dispatchResult, payload, resultEventId(link.id, attempt));
  }

  /** A result the database could not take, straight to its stream (Redis may be up while PostgreSQL is not). */
  private async publishDirect(link: ClaimedLink, attempt: number, told: OutboxEntry): Promise<void> {
    let error: string | null;
    try {
      error = await this.direct.submit({ type: told.type, fields: { id: told.eventId, v: String(told.version), at: String(Date.now()), data: told.data } });
    } catch (err) {
      error = errorMessage(err);
    }
    if (error !== null) {
      this.options.metrics.publishFailures.inc();
      this.logger.warn('could not publish dispatch.result', { linkId: link.id, attempt, error });
    }
  }
}
