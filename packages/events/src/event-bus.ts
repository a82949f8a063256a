import { Redis } from 'ioredis';
import type { Logger } from '@dwld/logger';
import { EventConsumer, defaultConsumerName, type EventConsumerOptions, type EventHandler } from './consumer';
import type { AnyEventDef } from './event-def';
import { EventPublisher, type TrimPolicy } from './publisher';
import { errorMessage } from '@dwld/errors';

export interface EventBusOptions {
  /** A connection the caller owns, or a URL for one the bus opens and closes. */
  redis: Redis | string;
  prefix: string;
  logger: Logger;
  /** Default {@link defaultConsumerName}. */
  consumerName?: string;
  trim?: TrimPolicy;
  /** Consumer settings every subscription starts from (its own options win). */
  consumerDefaults?: EventConsumerOptions;
}

export interface SubscribeOptions<D extends AnyEventDef> {
  group: string;
  event: D;
  handler: EventHandler<D>;
  options?: EventConsumerOptions;
}

/**
 * A service's view of the bus: one command connection shared by its publisher and its
 * consumers (each consumer adds its own blocking connection), started and stopped together.
 */
export interface EventBus {
  readonly publisher: EventPublisher;
  /** Adds a consumer; it starts with {@link start}, or at once when the bus already started. */
  subscribe<D extends AnyEventDef>(subscription: SubscribeOptions<D>): EventConsumer<D>;
  start(): Promise<void>;
  /** How many entries each subscribed stream's dead-letter stream holds (for a gauge: one XLEN each, pipelined). */
  deadLetters(): Promise<Array<{ stream: string; count: number }>>;
  /** Stops every consumer (letting running handlers finish), then closes an owned connection. */
  stop(): Promise<void>;
}

export function createEventBus(options: EventBusOptions): EventBus {
  const owned = typeof options.redis === 'string';
  const redis = typeof options.redis === 'string' ? new Redis(options.redis, { lazyConnect: true }) : options.redis;
  if (owned) {
    // ioredis emits an error per reconnection attempt; one line per outage is enough.
    let reported = false;
    redis.on('error', (err: unknown) => {
      if (!reported) options.logger.warn('Redis connection error; reconnecting', { component: 'events', error: errorMessage(err) });
      reported = true;
    });
    redis.on('ready', () => (reported = false));
  }
  const publisher = new EventPublisher({ redis, prefix: options.prefix, ...(options.trim ? { trim: options.trim } : {}) });
  const consumerName = options.consumerName ?? defaultConsumerName();
  type Lifecycle = Pick<EventConsumer<AnyEventDef>, 'start' | 'stop' | 'stream' | 'deadLetterStream'>;
  const consumers: Lifecycle[] = [];
  let started = false;

  return {
    publisher,
    subscribe(subscription) {
      const consumer = new EventConsumer({
        redis,
        prefix: options.prefix,
        consumer: consumerName,
        logger: options.logger,
        ...subscription,
        options: { ...options.consumerDefaults, ...subscription.options },
      });
      consumers.push(consumer);
      if (started) {
        consumer.start().catch((err: unknown) => options.logger.error('Event consumer failed to start', { stream: consumer.stream, error: String(err) }));
      }
      return consumer;
    },
    async start() {
      if (started) throw new Error('The event bus was already started');
      started = true;
      await Promise.all(consumers.map((consumer) => consumer.start()));
    },
    async deadLetters() {
      const dead = new Map(consumers.map((consumer) => [consumer.stream, consumer.deadLetterStream]));
      const streams = [...dead.keys()];
      if (streams.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const stream of streams) pipeline.xlen(dead.get(stream)!);
      const results = (await pipeline.exec()) ?? [];
      return streams.map((stream, i) => {
        const [err, count] = results[i] ?? [new Error('missing XLEN reply'), 0];
        if (err) throw err;
        return { stream, count: Number(count) };
      });
    },
    async stop() {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      if (owned) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
