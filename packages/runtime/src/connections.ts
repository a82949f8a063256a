import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '@dwld/logger';

/**
 * The Redis connection a service's composition root opens. Commands fail after two retries
 * while Redis is away (the caller then falls back or says so) instead of queueing for minutes;
 * connection errors are logged at debug only, since ioredis reports every reconnect attempt and
 * the code that meets the failure reports what it means.
 */
export function openRedis(url: string, logger: Logger, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 2, ...options });
  redis.on('error', (err: Error) => logger.debug('redis connection error', { error: err.message }));
  return redis;
}

/** What a composition root opened and closes last: a Prisma client, a Redis connection. */
export type Closable = { $disconnect(): Promise<unknown> } | { quit(): Promise<unknown> };

/** Closes each of them, all at once; one that fails to close does not keep the others open. */
export async function closeAll(closables: readonly Closable[]): Promise<void> {
  await Promise.allSettled(closables.map((c) => ('$disconnect' in c ? c.$disconnect() : c.quit())));
}
