import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { encodeEntry, streamKey, type AnyEventDef, type EntryFields, type EventInput } from './event-def';

/**
 * How streams are kept bounded: past `maxLen` entries (or for entries older than `maxAgeMs`),
 * the entries every consumer group has acknowledged are dropped, and never one a group has not
 * (see SAFE_TRIM). Trimming is approximate (`MINID ~`): Redis drops whole internal nodes only,
 * which is far cheaper than exact trimming, so a stream may hold a little more than asked; a
 * stream whose groups lag behind holds more until they catch up.
 */
export type TrimPolicy = { maxLen: number } | { maxAgeMs: number };

export const DEFAULT_MAX_LEN = 1_000_000;

/** Publishes to one stream between two looks at whether it needs trimming (one cheap XLEN while it does not). */
export const DEFAULT_TRIM_EVERY = 100;

/**
 * Trims a stream to the oldest entry some consumer group still needs: for each group, its oldest
 * pending entry (delivered, not acknowledged), or when none is pending its last-delivered-id
 * (everything after it is not delivered yet). `MINID ~` then drops only whole nodes below
 * that, never an entry at or above it. A stream without groups is left alone (groups start at
 * the stream's first entry, so nothing before the first consumer may go), and so is one within
 * maxLen. Atomic: a group created or an entry delivered meanwhile cannot slip between the look
 * and the trim. Redis 7.0 has no XADD KEEPREF/ACKED, hence the script.
 * KEYS[1]: the stream; ARGV[1]: maxLen (0: no length bound); ARGV[2]: the id below which
 * entries are old enough to go ('': no age bound; with maxLen, '+': any age). Returns the entries removed.
 */
const SAFE_TRIM = `
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function before(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local maxLen = tonumber(ARGV[1])
if maxLen > 0 and redis.call('XLEN', KEYS[1]) <= maxLen then return 0 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return 0 end
local floor = nil
for _, group in ipairs(groups) do
  local name, last
  for i = 1, #group, 2 do
    if group[i] == 'name' then name = group[i + 1] elseif group[i] == 'last-delivered-id' then last = group[i + 1] end
  end
  local needed = last
  local pending = redis.call('XPENDING', KEYS[1], name)
  if pending[1] > 0 then needed = pending[2] end
  if floor == nil or before(needed, floor) then floor = needed end
end
if ARGV[2] ~= '+' and ARGV[2] ~= '' and before(ARGV[2], floor) then floor = ARGV[2] end
return redis.call('XTRIM', KEYS[1], 'MINID', '~', floor)
`;

/** An entry already encoded (an outbox row): its event type names the stream. */
export interface EncodedEntry {
  type: string;
  fields: EntryFields;
}

export interface PublisherOptions {
  redis: Redis;
  /** Key prefix of every stream, e.g. `dwld`; lets two deployments share one Redis. */
  prefix: string;
  /** Default `{ maxLen: 1_000_000 }`. `maxAgeMs` compares against this host's clock. */
  trim?: TrimPolicy;
  /** Publishes to a stream between two trim checks; default DEFAULT_TRIM_EVERY. */
  trimEvery?: number;
}

export interface PublishOptions {
  /** The event id, the consumers' idempotency key; a fresh uuid when not given. */
  id?: string;
}

/** One event for {@link EventPublisher.publishMany}; build it with {@link outgoing} to have the payload type-checked. */
export interface OutgoingEvent<D extends AnyEventDef = AnyEventDef> {
  event: D;
  payload: EventInput<D>;
  id?: string;
}

export function outgoing<D extends AnyEventDef>(event: D, payload: EventInput<D>, options: PublishOptions = {}): OutgoingEvent<D> {
  return { event, payload, ...(options.id !== undefined ? { id: options.id } : {}) };
}

export class EventPublisher {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly trim: TrimPolicy;
  private readonly trimEvery: number;
  /** Publishes per stream since its last trim check. */
  private readonly sinceTrim = new Map<string, number>();

  constructor(options: PublisherOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.trim = options.trim ?? { maxLen: DEFAULT_MAX_LEN };
    this.trimEvery = options.trimEvery ?? DEFAULT_TRIM_EVERY;
    const limit = 'maxLen' in this.trim ? this.trim.maxLen : this.trim.maxAgeMs;
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`Invalid trim policy ${JSON.stringify(this.trim)}`);
    if (!Number.isInteger(this.trimEvery) || this.trimEvery < 1) throw new Error(`Invalid trimEvery ${this.trimEvery}`);
  }

  /** Whether the connection is up now: a caller with somewhere else to keep events (an outbox) need not queue them in ioredis meanwhile. */
  get ready(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * Validates the payload (an invalid one throws {@link EventValidationError} and nothing is
   * written), appends it to the event's stream and returns the stream entry id.
   */
  async publish<D extends AnyEventDef>(event: D, payload: EventInput<D>, options: PublishOptions = {}): Promise<string> {
    const [streamId] = await this.publishMany([outgoing(event, payload, options)]);
    return streamId as string;
  }

  /**
   * Publishes several events in one round trip. Every payload is validated first, so one
   * invalid payload means none is written. Returns the stream entry ids in order.
   */
  async publishMany(events: readonly OutgoingEvent[]): Promise<string[]> {
    if (events.length === 0) return [];
    const now = Date.now();
    const entries = events.map(({ event, payload, id }) => {
      if (id !== undefined && (typeof id !== 'string' || id.length === 0)) throw new Error('An event id must be a non-empty string');
      return { type: event.type, fields: encodeEntry(event, payload, id ?? randomUUID(), now) };
    });
    return this.publishEncoded(entries);
  }

  /**
   * Appends entries encoded earlier (encodeEntry; an outbox row keeps its event's id, version,
   * time and payload as they were written), in one round trip; their stream ids in order. Not
   * validated again: a row written by an older version keeps the version it was written for.
   */
  async publishEncoded(entries: readonly EncodedEntry[]): Promise<string[]> {
    if (entries.length === 0) return [];
    const commands = entries.map(({ type, fields }) => [streamKey(this.prefix, type), '*', 'id', fields.id, 'v', fields.v, 'at', fields.at, 'data', fields.data] as const);
    let ids: string[];
    if (commands.length === 1) {
      const [key, ...args] = commands[0]!;
      ids = [(await this.redis.xadd(key, ...args)) as string];
    } else {
      const pipeline = this.redis.pipeline();
      for (const [key, ...args] of commands) pipeline.xadd(key, ...args);
      const results = (await pipeline.exec()) ?? [];
      ids = results.map(([err, streamId]) => {
        if (err) throw err;
        return streamId as string;
      });
    }
    this.countForTrim(commands.map(([key]) => key));
    return ids;
  }

  /**
   * Drops what every consumer group of the stream has acknowledged, when the stream is past
   * the trim policy (SAFE_TRIM); the number of entries removed. Run every `trimEvery` publishes
   * to a stream, in the background; callable on its own (tests, an operator).
   */
  async trimStream(event: AnyEventDef | string): Promise<number> {
    const key = streamKey(this.prefix, event);
    const args = 'maxLen' in this.trim ? [this.trim.maxLen, '+'] : [0, `${Math.max(0, Date.now() - this.trim.maxAgeMs)}-0`];
    return Number(await this.redis.eval(SAFE_TRIM, 1, key, ...args));
  }

  private countForTrim(keys: readonly string[]): void {
    const added = new Map<string, number>();
    for (const key of keys) added.set(key, (added.get(key) ?? 0) + 1);
    for (const [key, n] of added) {
      const count = (this.sinceTrim.get(key) ?? 0) + n;
      if (count < this.trimEvery) {
        this.sinceTrim.set(key, count);
        continue;
      }
      this.sinceTrim.set(key, 0);
      // Housekeeping: a failure here (Redis busy or gone) is tried again after the next trimEvery publishes.
      this.trimStream(key.slice(this.prefix.length + 1)).catch(() => undefined);
    }
  }
}
