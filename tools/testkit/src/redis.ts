import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { errorMessage } from '@dwld/errors';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface RedisNamespace {
  url: string;
  /** A stream prefix no other test uses, so test files can run in parallel on one Redis. */
  prefix: string;
  /** A connection for the test's own inspection. */
  redis: Redis;
  /** Deletes every key under the prefix and closes the connection. */
  cleanup(): Promise<void>;
}

export async function createRedisNamespace(label = 'test'): Promise<RedisNamespace> {
  const prefix = `t-${label}-${randomBytes(4).toString('hex')}`;
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new Error(`Redis is not reachable at ${TEST_REDIS_URL}: ${errorMessage(err)}`);
  }
  return {
    url: TEST_REDIS_URL,
    prefix,
    redis,
    async cleanup() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}
