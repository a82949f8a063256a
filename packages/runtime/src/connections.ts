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

/** The only maxmemory-policy under which Redis never drops a key to make room (BullMQ's requirement). */
export const NO_EVICTION = 'noeviction';

/** A service's exit code when it refuses an evicting Redis (EX_CONFIG: fix the configuration, restarting will not help). */
export const EVICTING_REDIS_EXIT_CODE = 78;

/**
 * Redis's maxmemory-policy: from CONFIG GET, or where CONFIG is disabled, renamed or not
 * permitted (managed Redis often does that), from INFO memory. Null when neither says; throws
 * when Redis cannot be reached.
 */
export async function readEvictionPolicy(redis: Redis): Promise<string | null> {
  try {
    const reply = (await redis.call('CONFIG', 'GET', 'maxmemory-policy')) as unknown;
    if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
  } catch (err) {
    // A refusal by the server (unknown command, NOPERM) is a reason to look elsewhere; anything else is not.
    if ((err as Error).name !== 'ReplyError') throw err;
  }
  const info = await redis.info('memory');
  return /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? null;
}

export interface EvictionGuardOptions {
  /** REDIS_ALLOW_EVICTION: run anyway, saying so once. */
  allowEviction: boolean;
  logger: Logger;
  /** How the process ends on refusal (tests pass their own). */
  exit?: (code: number) => void;
}

/**
 * Refuses to run against a Redis that may evict keys: under any policy but noeviction (the
 * volatile-* ones included: they drop keys with a TTL, which the urgent-dispatch markers
 * have) a full Redis silently drops stream entries, BullMQ jobs and markers, and with them
 * accepted links and owed replies. BullMQ requires noeviction for the same reason. One error
 * line and exit code 78, unless `allowEviction`. Checked now, before the service starts, and
 * again whenever the connection is re-established (a Redis restarted with another setting);
 * a Redis unreachable now is checked when it comes.
 */
export async function refuseEvictingRedis(redis: Redis, options: EvictionGuardOptions): Promise<void> {
  const { logger, allowEviction } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const said = new Set<string>();
  const once = (key: string, say: () => void) => {
    if (said.has(key)) return;
    said.add(key);
    say();
  };
  const check = async (): Promise<void> => {
    let policy: string | null;
    try {
      policy = await readEvictionPolicy(redis);
    } catch {
      return; // Not reachable: checked on the next 'ready'.
    }
    if (policy === null) {
      once('unknown', () => logger.warn('cannot read Redis maxmemory-policy (CONFIG and INFO refused): make sure it is noeviction'));
      return;
    }
    if (policy === NO_EVICTION) return;
    if (allowEviction) {
      once(policy, () => logger.warn('Redis may evict keys; running anyway (REDIS_ALLOW_EVICTION)', { maxmemoryPolicy: policy }));
      return;
    }
    once('refused', () => {
      logger.error(`refusing to run: Redis maxmemory-policy is ${policy}, which may evict stream entries and queued jobs (lost links and replies); set it to noeviction, or REDIS_ALLOW_EVICTION=true to run anyway`, { maxmemoryPolicy: policy });
      exit(EVICTING_REDIS_EXIT_CODE);
    });
  };
  redis.on('ready', () => void check());
  await check();
}

/** What a composition root opened and closes last: a Prisma client, a Redis connection. */
export type Closable = { $disconnect(): Promise<unknown> } | { quit(): Promise<unknown> };

/** Closes each of them, all at once; one that fails to close does not keep the others open. */
export async function closeAll(closables: readonly Closable[]): Promise<void> {
  await Promise.allSettled(closables.map((c) => ('$disconnect' in c ? c.$disconnect() : c.quit())));
}
