import { createRedisNamespace, type RedisNamespace } from '@dwld/testkit';
import { Redis } from 'ioredis';
import { HandledUpdates } from './handled-updates';

describe('HandledUpdates (real Redis)', () => {
  let ns: RedisNamespace;
  beforeAll(async () => {
    ns = await createRedisNamespace('handled-updates');
  });
  afterAll(() => ns.cleanup());

  it('knows exactly the updates marked, by any replica, each for the time Telegram may resend it', async () => {
    const one = new HandledUpdates(ns.redis, ns.prefix, 60_000);
    const other = new HandledUpdates(ns.redis, ns.prefix, 60_000);
    const ids = Array.from({ length: 300 }, (_, i) => 5_000 + i);
    // Many at once, as a burst of updates is handled: they go to Redis together.
    await Promise.all(ids.filter((id) => id % 3 === 0).map((id) => one.markHandled(id)));
    const seen = await Promise.all(ids.map((id) => other.wasHandled(id)));
    expect(ids.filter((_, i) => seen[i])).toEqual(ids.filter((id) => id % 3 === 0));
    expect(await ns.redis.pttl(`${ns.prefix}:tg-update:5002`)).toBe(-2);
    const marked = await ns.redis.pttl(`${ns.prefix}:tg-update:5001`);
    expect(marked).toBeGreaterThan(50_000);
    expect(marked).toBeLessThanOrEqual(60_000);
  });

  it('fails its lookups and marks while Redis is away (the bot then handles the update as new)', async () => {
    const away = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    const updates = new HandledUpdates(away, ns.prefix);
    try {
      await expect(updates.wasHandled(1)).rejects.toThrow();
      await expect(updates.markHandled(1)).rejects.toThrow();
    } finally {
      away.disconnect();
    }
  });
});
