import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { encodeEntry, streamKey, type AnyEventDef, type EventInput } from './event-def';

/**
 * How streams are kept bounded. Trimming is approximate (`~`): Redis then drops whole
 * internal nodes only, which is far cheaper than exact trimming, so a stream may hold a
 * little more than asked.
 */
export type TrimPolicy = { maxLen: number } | { maxAgeMs: number };

export const DEFAULT_MAX_LEN = 1_000_000;

export interface PublisherOptions {
  redis: Redis;
  /** Key prefix of every stream, e.g. `dwld`; lets two deployments share one Redis. */
  prefix: string;
  /** Default `{ maxLen: 1_000_000 }`. `maxAgeMs` compares against this host's clock. */
  trim?: TrimPolicy;
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

  constructor(options: PublisherOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.trim = options.trim ?? { maxLen: DEFAULT_MAX_LEN };
    const limit = 'maxLen' in this.trim ? this.trim.maxLen : this.trim.maxAgeMs;
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`Invalid trim policy ${JSON.stringify(this.trim)}`);
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
    const commands = events.map(({ event, payload, id }) => {
      if (id !== undefined && (typeof id !== 'string' || id.length === 0)) throw new Error('An event id must be a non-empty string');
      const fields = encodeEntry(event, payload, id ?? randomUUID(), now);
      return [streamKey(this.prefix, event), ...this.trimArgs(now), '*', 'id', fields.id, 'v', fields.v, 'at', fields.at, 'data', fields.data] as const;
    });
    if (commands.length === 1) {
      const [key, ...args] = commands[0]!;
      return [(await this.redis.xadd(key, ...args)) as string];
    }
    const pipeline = this.redis.pipeline();
    for (const [key, ...args] of commands) pipeline.xadd(key, ...args);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, streamId]) => {
      if (err) throw err;
      return streamId as string;
    });
  }

  private trimArgs(now: number): string[] {
    if ('maxLen' in this.trim) return ['MAXLEN', '~', String(this.trim.maxLen)];
    return ['MINID', '~', String(Math.max(0, now - this.trim.maxAgeMs))];
  }
}
