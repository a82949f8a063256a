import os from 'node:os';
import { Redis } from 'ioredis';
import { errorMessage } from '@dwld/errors';
import type { Logger } from '@dwld/logger';
import { deadLetterKey, decodeEntry, streamKey, type AnyEventDef, type EventPayload } from './event-def';
import {
  isMissingGroupError,
  parseAutoClaimReply,
  parseInfoList,
  parsePendingReply,
  parseReadReply,
  type StreamEntry,
} from './redis-replies';

/** A consumer name that stays the same while the process lives and differs between processes. */
export function defaultConsumerName(): string {
  return `${os.hostname()}-${process.pid}`;
}

export interface EventMeta {
  /** The publisher's event id: the idempotency key, the same on every redelivery. */
  eventId: string;
  /** The stream entry id. */
  streamId: string;
  publishedAt: Date;
  /** 1 on the first delivery; more when the entry was redelivered or reclaimed. */
  deliveries: number;
}

export type EventHandler<D extends AnyEventDef> = (payload: EventPayload<D>, meta: EventMeta) => Promise<void> | void;

export interface EventConsumerOptions {
  /** Entries read per XREADGROUP / XAUTOCLAIM. Default 50. */
  batchSize?: number;
  /** How long one XREADGROUP blocks waiting for new entries. Default 5000 ms. */
  blockMs?: number;
  /** Handlers running at once; 1 (the default) handles entries in stream order. */
  concurrency?: number;
  /**
   * How often pending entries are reclaimed, the idle time of entries held here refreshed
   * and stale consumers removed. Must be below `minIdleMs`. Default 30 s.
   */
  reclaimIntervalMs?: number;
  /**
   * How long an entry must sit pending and untouched before another consumer of the group
   * (or this one, after its handler failed) takes it over. Entries this process is still
   * working on are kept fresh, so this only bounds how soon a dead consumer's work resumes.
   * Default 60 s.
   */
  minIdleMs?: number;
  /** Handler attempts per entry; after that it goes to the dead-letter stream. Default 5. */
  maxDeliveries?: number;
  /** Consumers of the group idle this long with nothing pending are removed. Default 1 h. */
  staleConsumerMs?: number;
  /** First back-off after a Redis error; doubles per consecutive failure, up to 30 s. Default 1000 ms. */
  retryDelayMs?: number;
  /** Approximate bound of the dead-letter stream. Default 100 000. */
  deadLetterMaxLen?: number;
}

type ResolvedOptions = Required<EventConsumerOptions>;

export const DEFAULT_CONSUMER_OPTIONS: Readonly<ResolvedOptions> = Object.freeze({
  batchSize: 50,
  blockMs: 5_000,
  concurrency: 1,
  reclaimIntervalMs: 30_000,
  minIdleMs: 60_000,
  maxDeliveries: 5,
  staleConsumerMs: 60 * 60 * 1000,
  retryDelayMs: 1_000,
  deadLetterMaxLen: 100_000,
});

const MAX_RETRY_DELAY_MS = 30_000;

export interface EventConsumerConfig<D extends AnyEventDef> {
  /**
   * A connection for acks, claims and dead-lettering, shared with the caller (who closes it),
   * or a URL, for which the consumer opens and closes its own. Blocking reads always go over
   * a duplicate of it, so they never stall other commands.
   */
  redis: Redis | string;
  prefix: string;
  /** One group per consuming service: each event is handled once per group. */
  group: string;
  /** Stable per process (see {@link defaultConsumerName}), so a restart finds its pending entries. */
  consumer: string;
  event: D;
  handler: EventHandler<D>;
  logger: Logger;
  options?: EventConsumerOptions;
}

export interface GroupBacklog {
  /** Entries delivered to the group's consumers and not acknowledged yet. */
  pending: number;
  /** Entries not yet delivered to the group; null when Redis cannot tell (after deletions). */
  lag: number | null;
}

/** A pending entry with how often Redis has delivered it (this delivery included). */
interface Delivery extends StreamEntry {
  deliveries: number;
}

type State = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

// Removes the group's consumers that have been idle long enough and have nothing pending, in
// one atomic step: checking XINFO CONSUMERS first and deleting afterwards would lose the
// entries of a consumer that read something in between (DELCONSUMER drops its pending list).
const REMOVE_STALE_CONSUMERS = `
local removed = {}
for _, info in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local name, pending, idle
  for i = 1, #info, 2 do
    if info[i] == 'name' then name = info[i + 1]
    elseif info[i] == 'pending' then pending = info[i + 1]
    elseif info[i] == 'idle' then idle = info[i + 1] end
  end
  if name ~= ARGV[2] and pending == 0 and idle >= tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)
    removed[#removed + 1] = name
  end
end
return removed
`;

/** Field names the consumer adds to a dead-letter entry; same-named fields of the original are dropped (and a replay drops them again). */
export const DEAD_LETTER_FIELDS = new Set(['error', 'streamId', 'group', 'consumer', 'deliveries', 'deadAt']);

/**
 * Reads one event type's stream as a member of a consumer group, at least once: an entry is
 * acknowledged only after the handler resolved, so handlers must be idempotent (key on
 * `meta.eventId`). Entries whose handler failed, or that a dead consumer left pending, are
 * retried after `minIdleMs`; after `maxDeliveries` attempts they go to `<stream>:dead`.
 */
export class EventConsumer<D extends AnyEventDef> {
  readonly stream: string;
  readonly deadLetterStream: string;
  readonly group: string;
  readonly consumer: string;

  private readonly event: D;
  private readonly handler: EventHandler<D>;
  private readonly logger: Logger;
  private readonly options: ResolvedOptions;
  private readonly connection: Redis | string;

  private state: State = 'idle';
  private abandoned = false;
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private commands: Redis | undefined;
  private reader: Redis | undefined;
  private loops: Promise<void>[] = [];
  private readonly slots: Semaphore;
  /**
   * Entries this process has read or claimed and not settled yet (queued or in a handler):
   * the other loop must not start them a second time, and their idle time is kept fresh.
   */
  private readonly held = new Set<string>();
  /** The last handler error per entry, for the dead-letter entry; bounded, oldest dropped. */
  private readonly lastErrors = new Map<string, string>();
  private readonly stopSignal: Promise<void>;
  private signalStop!: () => void;

  constructor(config: EventConsumerConfig<D>) {
    this.options = { ...DEFAULT_CONSUMER_OPTIONS, ...definedOnly(config.options ?? {}) };
    for (const [name, value] of Object.entries(this.options)) {
      if (!Number.isInteger(value) || value < (name === 'blockMs' ? 0 : 1)) throw new Error(`Invalid consumer option ${name}: ${value}`);
    }
    // Held entries are refreshed once per reclaim tick; a longer tick would let them go idle
    // long enough for another consumer to take them over while still being handled here.
    if (this.options.reclaimIntervalMs >= this.options.minIdleMs) {
      throw new Error(`reclaimIntervalMs (${this.options.reclaimIntervalMs}) must be below minIdleMs (${this.options.minIdleMs})`);
    }
    if (!config.group) throw new Error('A consumer group name is required');
    if (!config.consumer) throw new Error('A consumer name is required');
    if (typeof config.redis !== 'string' && config.redis.options.replyMapping === 'resp3') {
      throw new Error('EventConsumer needs a connection with replyMapping "legacy" (the ioredis default)');
    }
    this.connection = config.redis;
    this.event = config.event;
    this.handler = config.handler;
    this.group = config.group;
    this.consumer = config.consumer;
    this.stream = streamKey(config.prefix, config.event);
    this.deadLetterStream = deadLetterKey(config.prefix, config.event);
    this.logger = config.logger.child({ component: 'events', stream: this.stream, group: this.group, consumer: this.consumer });
    this.slots = new Semaphore(this.options.concurrency);
    this.stopSignal = new Promise((resolve) => (this.signalStop = resolve));
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** Connects and creates the group if needed; resolves once it exists, while the loops go on in the background. */
  start(): Promise<void> {
    if (this.state !== 'idle') return Promise.reject(new Error(`EventConsumer for ${this.stream} was already started`));
    this.state = 'starting';
    this.startPromise = this.open().catch((err: unknown) => {
      this.closeConnections();
      this.state = 'stopped';
      throw err;
    });
    return this.startPromise;
  }

  private async open(): Promise<void> {
    const owned = typeof this.connection === 'string';
    const commands = typeof this.connection === 'string' ? new Redis(this.connection, { lazyConnect: true }) : this.connection;
    this.commands = commands;
    if (owned) this.reportConnectionErrors(commands, 'commands');
    // CLIENT LIST then shows who is blocking; the name must be a single plain word.
    const connectionName = `events:${this.group}:${this.consumer}`.replace(/[^A-Za-z0-9_.:-]/g, '_');
    this.reader = commands.duplicate({ lazyConnect: true, connectionName });
    this.reportConnectionErrors(this.reader, 'reader');
    await this.ensureGroup();
    if (this.state !== 'starting') return; // stopped (or abandoned) meanwhile
    this.state = 'running';
    this.loops = [this.readLoop(), this.reclaimLoop()];
    this.logger.debug('Event consumer started');
  }

  /**
   * Stops reading at once (the blocking read is cut off, not waited out), lets the handlers
   * already running finish and acknowledges them, then returns. Entries read but not started
   * stay pending for this consumer name's next start.
   */
  stop(): Promise<void> {
    this.stopPromise ??= this.shutdown();
    return this.stopPromise;
  }

  private async shutdown(): Promise<void> {
    if (this.state === 'starting') await this.startPromise?.catch(() => undefined);
    if (this.state !== 'running') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    this.signalStop();
    this.reader?.disconnect();
    await Promise.all(this.loops);
    if (typeof this.connection === 'string') await this.commands?.quit().catch(() => this.commands?.disconnect());
    this.state = 'stopped';
    this.logger.debug('Event consumer stopped');
  }

  /**
   * Drops everything as a crash would: connections closed, running handlers neither awaited
   * nor acknowledged, so their entries stay pending for another consumer to reclaim. For
   * tests, and for shutdowns that cannot wait for a hung handler.
   */
  abandon(): void {
    this.abandoned = true;
    this.state = 'stopped';
    this.signalStop();
    this.closeConnections();
  }

  /** Pending and undelivered entries of this consumer's group, for metrics. */
  async backlog(): Promise<GroupBacklog> {
    const commands = this.requireCommands();
    const groups = parseInfoList(await commands.xinfo('GROUPS', this.stream), 'XINFO GROUPS');
    const info = groups.find((g) => g.name === this.group);
    if (!info) return { pending: 0, lag: null };
    return { pending: Number(info.pending), lag: info.lag === null || info.lag === undefined ? null : Number(info.lag) };
  }

  private requireCommands(): Redis {
    if (!this.commands) throw new Error(`EventConsumer for ${this.stream} is not started`);
    return this.commands;
  }

  private closeConnections(): void {
    this.reader?.disconnect();
    if (typeof this.connection === 'string') this.commands?.disconnect();
  }

  private reportConnectionErrors(connection: Redis, role: string): void {
    // ioredis emits an error per reconnection attempt; one line per outage is enough.
    let reported = false;
    connection.on('error', (err: unknown) => {
      if (reported) return;
      reported = true;
      this.logger.warn('Redis connection error; reconnecting', { role, error: errorMessage(err) });
    });
    connection.on('ready', () => (reported = false));
  }

  /** Creates the group at the start of the stream (and the stream itself) unless it exists. */
  private async ensureGroup(): Promise<void> {
    try {
      await this.requireCommands().xgroup('CREATE', this.stream, this.group, '0', 'MKSTREAM');
      this.logger.info('Created consumer group');
    } catch (err) {
      if (!errorMessage(err).startsWith('BUSYGROUP')) throw err;
    }
  }

  private async readLoop(): Promise<void> {
    await this.retrying('reading own pending entries', () => this.readOwnPending());
    while (this.running) {
      await this.retrying('reading new entries', async () => {
        const reader = this.reader!;
        const reply = await reader.xreadgroup(
          'GROUP', this.group, this.consumer,
          'COUNT', this.options.batchSize,
          'BLOCK', this.options.blockMs,
          'STREAMS', this.stream, '>',
        );
        const entries = parseReadReply(reply);
        // A `>` read is always an entry's first delivery.
        await this.handleBatch(entries.map(({ streamId, fields }) => ({ streamId, fields, deliveries: 1 })));
      });
    }
  }

  /**
   * What this consumer name read in an earlier life and never acknowledged, oldest first:
   * a restarted process finishes its own work before taking new entries.
   */
  private async readOwnPending(): Promise<void> {
    let after = '0';
    while (this.running) {
      const reply = await this.reader!.xreadgroup(
        'GROUP', this.group, this.consumer, 'COUNT', this.options.batchSize, 'STREAMS', this.stream, after,
      );
      const entries = parseReadReply(reply);
      const last = entries[entries.length - 1];
      if (!last) return;
      if (after === '0') this.logger.info('Resuming entries left pending by this consumer name', { first: entries[0]?.streamId });
      await this.handleBatch(await this.withDeliveryCounts(entries));
      after = last.streamId;
    }
  }

  private async reclaimLoop(): Promise<void> {
    while (this.running) {
      await this.sleep(this.options.reclaimIntervalMs);
      if (!this.running) return;
      await this.retrying('refreshing held entries', () => this.refreshHeldEntries(), false);
      await this.retrying('reclaiming pending entries', () => this.reclaimIdleEntries(), false);
      await this.retrying('removing stale consumers', () => this.removeStaleConsumers(), false);
    }
  }

  /**
   * Resets the idle time of the entries this process holds, so that only a dead consumer's
   * entries ever reach `minIdleMs`, however slow the handlers or long the queue. JUSTID
   * leaves the delivery counts alone.
   */
  private async refreshHeldEntries(): Promise<void> {
    if (this.held.size === 0) return;
    await this.requireCommands().xclaim(this.stream, this.group, this.consumer, 0, ...this.held, 'JUSTID');
  }

  /**
   * Takes over entries pending longer than `minIdleMs`, whoever holds them: a dead consumer,
   * or this one after a failed handler. XAUTOCLAIM counts the claim as a delivery.
   */
  private async reclaimIdleEntries(): Promise<void> {
    const commands = this.requireCommands();
    let cursor = '0-0';
    do {
      const reply = parseAutoClaimReply(
        await commands.xautoclaim(this.stream, this.group, this.consumer, this.options.minIdleMs, cursor, 'COUNT', this.options.batchSize),
      );
      if (reply.deletedIds.length > 0) {
        this.logger.warn('Pending entries were trimmed from the stream before being handled', { streamIds: reply.deletedIds });
      }
      const claimed = reply.entries.filter((entry) => !this.held.has(entry.streamId));
      if (claimed.length > 0) {
        this.logger.info('Reclaimed pending entries', { count: claimed.length });
        await this.handleBatch(await this.withDeliveryCounts(claimed));
      }
      cursor = reply.nextCursor;
    } while (cursor !== '0-0' && this.running);
  }

  private async removeStaleConsumers(): Promise<void> {
    const removed = await this.requireCommands().eval(
      REMOVE_STALE_CONSUMERS, 1, this.stream, this.group, this.consumer, this.options.staleConsumerMs,
    );
    if (Array.isArray(removed) && removed.length > 0) this.logger.info('Removed stale consumers', { consumers: removed.map(String) });
  }

  /** Delivery counts from XPENDING, for entries not read with `>`. */
  private async withDeliveryCounts(entries: StreamEntry[]): Promise<Delivery[]> {
    if (entries.length === 0) return [];
    const pipeline = this.requireCommands().pipeline();
    for (const { streamId } of entries) pipeline.xpending(this.stream, this.group, streamId, streamId, 1);
    const results = (await pipeline.exec()) ?? [];
    return entries.map((entry, i) => {
      const [err, reply] = results[i] ?? [new Error('missing XPENDING reply'), null];
      if (err) throw err;
      // Acknowledged meanwhile (by a consumer that was only slow): count this delivery only.
      const deliveries = parsePendingReply(reply)[0]?.deliveries ?? 1;
      return { ...entry, deliveries };
    });
  }

  /**
   * Handles a batch with at most `concurrency` handlers at once (shared with the other loop),
   * skipping entries this process already holds. Once stopping, entries not started yet are
   * left pending.
   */
  private async handleBatch(entries: Delivery[]): Promise<void> {
    const mine = entries.filter((entry) => !this.held.has(entry.streamId));
    for (const { streamId } of mine) this.held.add(streamId);
    const running: Promise<void>[] = [];
    try {
      for (const entry of mine) {
        // Waits (a turn of the event loop at least) only when every slot is taken.
        if (!this.slots.tryAcquire()) await this.slots.acquire();
        if (!this.running) {
          this.slots.release();
          break;
        }
        let released = false;
        const releaseSlot = () => {
          if (!released) this.slots.release();
          released = true;
        };
        running.push(
          this.handleEntry(entry, releaseSlot).finally(() => {
            releaseSlot();
            this.held.delete(entry.streamId);
          }),
        );
      }
      await Promise.all(running);
    } finally {
      // Entries left unstarted stay pending in Redis; this process lets go of them.
      for (const { streamId } of mine) this.held.delete(streamId);
    }
  }

  /**
   * Never rejects: every outcome is logged here, once. `handlerDone` frees the concurrency
   * slot as soon as the handler settled, so the next entry starts while this one's ack is
   * still on its way (acks are coalesced into one XACK per turn of the event loop).
   */
  private async handleEntry(entry: Delivery, handlerDone: () => void): Promise<void> {
    const { streamId, fields, deliveries } = entry;
    try {
      if (fields === null) {
        this.logger.warn('Pending entry was trimmed from the stream before being handled', { streamId });
        await this.ack(streamId);
        return;
      }
      const attempts = deliveries - 1;
      if (attempts >= this.options.maxDeliveries) {
        const lastError = this.lastErrors.get(streamId);
        const reason = lastError
          ? `handler failed ${attempts} times, last: ${lastError}`
          : `not acknowledged after ${attempts} deliveries (consumer crashed or its handler failed)`;
        await this.deadLetter(entry, fields, reason);
        return;
      }
      const decoded = decodeEntry(this.event, fields);
      if (!decoded.ok) {
        // Poison: no retry will make it readable.
        await this.deadLetter(entry, fields, decoded.reason);
        return;
      }
      const meta: EventMeta = { eventId: decoded.eventId, streamId, publishedAt: decoded.publishedAt, deliveries };
      try {
        // A handler that returns no promise (a wake-up call, say) costs no extra turn.
        const handled = this.handler(decoded.payload, meta);
        if (handled) await handled;
      } catch (err) {
        const message = errorMessage(err);
        this.rememberError(streamId, message);
        const final = deliveries >= this.options.maxDeliveries;
        this.logger.error(final ? 'Event handler failed for the last time' : 'Event handler failed; the entry will be retried', {
          streamId, eventId: decoded.eventId, deliveries, error: message,
        });
        if (final) await this.deadLetter(entry, fields, `handler failed ${deliveries} times, last: ${message}`);
        return;
      }
      handlerDone();
      await this.ack(streamId);
    } catch (err) {
      // Redis failed while acking or dead-lettering: the entry stays pending and comes back.
      this.logger.warn('Could not settle an entry; it stays pending', { streamId, error: errorMessage(err) });
    }
  }

  private ackQueue: string[] = [];
  private ackFlush: Promise<void> | undefined;

  /** Acknowledges an entry together with the others settled in the same turn of the event loop. */
  private ack(streamId: string): Promise<void> {
    if (this.abandoned) return Promise.resolve();
    this.lastErrors.delete(streamId);
    this.ackQueue.push(streamId);
    this.ackFlush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const ids = this.ackQueue;
      this.ackQueue = [];
      this.ackFlush = undefined;
      if (this.abandoned) return;
      await this.requireCommands().xack(this.stream, this.group, ...ids);
    });
    return this.ackFlush;
  }

  /** Moves an entry to the dead-letter stream and acknowledges it, atomically. */
  private async deadLetter(entry: Delivery, fields: Record<string, string>, reason: string): Promise<void> {
    if (this.abandoned) return;
    const original = Object.entries(fields).filter(([name]) => !DEAD_LETTER_FIELDS.has(name)).flat();
    const results = await this.requireCommands()
      .multi()
      .xadd(
        this.deadLetterStream, 'MAXLEN', '~', this.options.deadLetterMaxLen, '*',
        ...original,
        'error', reason,
        'streamId', entry.streamId,
        'group', this.group,
        'consumer', this.consumer,
        'deliveries', String(entry.deliveries),
        'deadAt', String(Date.now()),
      )
      .xack(this.stream, this.group, entry.streamId)
      .exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('dead-letter transaction aborted');
    this.lastErrors.delete(entry.streamId);
    this.logger.error('Entry moved to the dead-letter stream', {
      streamId: entry.streamId, eventId: fields.id, deliveries: entry.deliveries, deadLetterStream: this.deadLetterStream, reason,
    });
  }

  private rememberError(streamId: string, message: string): void {
    this.lastErrors.delete(streamId);
    this.lastErrors.set(streamId, message.slice(0, 1000));
    if (this.lastErrors.size > 1000) {
      const oldest = this.lastErrors.keys().next();
      if (!oldest.done) this.lastErrors.delete(oldest.value);
    }
  }

  /**
   * Runs one step of a loop; on a Redis error logs it, recreates the group if it is gone,
   * backs off and, when `untilDone`, tries again. Returns once the step succeeded or the
   * consumer stops.
   */
  private async retrying(what: string, step: () => Promise<void>, untilDone = true): Promise<void> {
    for (let failures = 0; this.running; ) {
      try {
        await step();
        return;
      } catch (err) {
        if (!this.running) return; // the reader was disconnected by stop()
        failures++;
        if (isMissingGroupError(err)) {
          this.logger.warn('Consumer group or stream disappeared; recreating it', { while: what, error: errorMessage(err) });
          try {
            await this.ensureGroup();
            // Straight back to work the first time; a group that keeps vanishing gets the back-off.
            if (failures === 1) {
              if (untilDone) continue;
              return;
            }
          } catch (createErr) {
            err = createErr;
          }
        }
        const delay = Math.min(this.options.retryDelayMs * 2 ** (failures - 1), MAX_RETRY_DELAY_MS);
        this.logger.warn('Redis error in event consumer; retrying', { while: what, error: errorMessage(err), failures, retryInMs: delay });
        await this.sleep(delay);
        if (!untilDone) return;
      }
    }
  }

  /** Waits, but no longer than until stop. */
  private async sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), this.stopSignal]);
    clearTimeout(timer);
  }
}

/** Bounds how many handlers run at once. */
class Semaphore {
  private available: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.available = size;
  }

  /** Takes a free slot at once, if there is one. */
  tryAcquire(): boolean {
    if (this.available === 0) return false;
    this.available--;
    return true;
  }

  async acquire(): Promise<void> {
    if (this.tryAcquire()) return;
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.available++;
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
