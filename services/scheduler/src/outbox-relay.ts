import type { EventOutbox, OutboxEntry, OutboxRow } from '@dwld/db';
import { errorMessage } from '@dwld/errors';
import { encodeEntry, type AnyEventDef, type EncodedEntry, type EventInput, type EventPublisher } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import { Batcher, Repeating } from '@dwld/runtime';
import type { SchedulerMetrics } from './metrics';

/** Outbox rows published or deleted in one round trip at most. */
const MAX_GROUP = 500;

export interface OutboxRelayOptions {
  outbox: EventOutbox;
  publisher: EventPublisher;
  logger: Logger;
  metrics: SchedulerMetrics;
  /** How often rows left behind (Redis was away, or their writer died) are looked for. Default 1 s. */
  sweepIntervalMs?: number;
  /** Rows younger than this are their writer's to publish; a sweep leaves them. Default 5 s. */
  graceMs?: number;
  /** Rows one sweep transaction takes at most. Default 500. */
  batchSize?: number;
}

/**
 * An event as the outbox holds it: validated and encoded now, so a payload its schema refuses
 * fails where it is written, not later in the relay.
 */
export function outboxEntry<D extends AnyEventDef>(event: D, payload: EventInput<D>, id: string): OutboxEntry {
  const fields = encodeEntry(event, payload, id, Date.now());
  return { eventId: fields.id, type: event.type, version: event.version, data: fields.data };
}

/** An outbox row as its stream entry: the event's own id, version and payload, and the time its row was written. */
export function entryOf(row: Pick<OutboxRow, 'eventId' | 'type' | 'version' | 'data' | 'createdAt'>): EncodedEntry {
  return { type: row.type, fields: { id: row.eventId, v: String(row.version), at: String(row.createdAt.getTime()), data: row.data } };
}

/**
 * Moves the outbox's events onto their Redis streams (the transactional outbox's relay). Two ways:
 * - right after the commit that wrote them, the writer hands its rows over (`written`): they
 *   are published at once, grouped with whatever else is ready (as before the outbox, so no
 *   latency is added), and deleted once on the stream;
 * - every `sweepIntervalMs`, rows older than `graceMs` (their writer could not publish them:
 *   Redis was away, or the process died) are taken in bounded batches with FOR UPDATE SKIP
 *   LOCKED (replicas share them), published and deleted in the same transaction.
 * Delivery is at least once: a row published whose delete did not happen is published again,
 * with the same event id, which consumers already treat as a repeat.
 */
export class OutboxRelay {
  private readonly logger: Logger;
  private readonly publishing: Batcher<OutboxRow, boolean>;
  private readonly removals: Batcher<bigint, void>;
  private readonly sweeper: Repeating;
  private readonly sweepIntervalMs: number;
  private readonly graceMs: number;
  private readonly batchSize: number;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Since when publishing has failed (one warning per outage, one line when it works again). */
  private failingSince: number | undefined;

  constructor(private readonly options: OutboxRelayOptions) {
    this.logger = options.logger.child({ component: 'outbox' });
    this.sweepIntervalMs = options.sweepIntervalMs ?? 1_000;
    this.graceMs = options.graceMs ?? 5_000;
    this.batchSize = options.batchSize ?? MAX_GROUP;
    this.publishing = new Batcher(async (rows) => {
      try {
        await options.publisher.publishEncoded(rows.map(entryOf));
      } catch (err) {
        this.failed(err, rows.length);
        return rows.map(() => false);
      }
      this.worked(rows.length, 'direct');
      this.track(Promise.all(rows.map((row) => this.removals.submit(row.id))));
      return rows.map(() => true);
    }, { maxBatch: MAX_GROUP });
    this.removals = new Batcher(async (ids) => {
      await options.outbox.remove(ids);
      return ids.map(() => undefined);
    }, { maxBatch: MAX_GROUP });
    this.sweeper = new Repeating(async () => {
      await this.sweep();
      return this.sweepIntervalMs;
    }, { unref: true });
  }

  start(): void {
    this.sweeper.start(this.sweepIntervalMs);
  }

  /** Stops sweeping and waits for the publishes and deletes in flight; what is left stays in the outbox. */
  async stop(): Promise<void> {
    await this.sweeper.stop();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Rows just committed: published now while Redis is up (else left to the sweeps, instead of
   * piling up in the client's offline queue). Never rejects; resolves with whether they went out.
   */
  written(rows: readonly OutboxRow[]): Promise<boolean> {
    if (rows.length === 0) return Promise.resolve(true);
    if (!this.options.publisher.ready) return Promise.resolve(false);
    return this.track(Promise.all(rows.map((row) => this.publishing.submit(row))).then((sent) => sent.every(Boolean)));
  }

  /**
   * Publishes what the writers left behind, batch after batch, until a batch comes back short;
   * the number published. Not while Redis is down: no transaction is held open waiting for it.
   * Never rejects (a failure waits for the next sweep).
   */
  async sweep(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        if (!this.options.publisher.ready) break;
        const published = await this.options.outbox.drain(this.batchSize, this.graceMs, async (rows) => {
          await this.options.publisher.publishEncoded(rows.map(entryOf));
        });
        if (published > 0) this.worked(published, 'sweep');
        total += published;
        if (published < this.batchSize) break;
      }
    } catch (err) {
      this.failed(err, 0);
    }
    return total;
  }

  private track<T>(work: Promise<T>): Promise<T> {
    const settled = work.catch((err: unknown) => this.logger.warn('outbox bookkeeping failed; the rows are published again by a sweep', { error: errorMessage(err) }));
    this.inFlight.add(settled);
    void settled.finally(() => this.inFlight.delete(settled));
    return work;
  }

  private worked(count: number, path: 'direct' | 'sweep'): void {
    this.options.metrics.outboxRelayed.inc({ path }, count);
    if (this.failingSince !== undefined) {
      this.logger.info('outbox events published again', { afterMs: Date.now() - this.failingSince });
      this.failingSince = undefined;
    }
  }

  private failed(err: unknown, count: number): void {
    if (count > 0) this.options.metrics.publishFailures.inc(count);
    if (this.failingSince !== undefined) return;
    this.failingSince = Date.now();
    this.logger.warn('cannot publish outbox events now; they wait in PostgreSQL and go out when Redis is back', { error: errorMessage(err) });
  }
}
