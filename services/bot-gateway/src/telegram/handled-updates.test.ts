import { createRedisNamespace, type RedisNamespace } from '@dwld/testkit';
import { Redis } from 'ioredis';
import { fingerprintOf, HandledUpdates, judgeRedelivery } from './handled-updates';

const message = (updateId: number, date: number, text = 'https://example.com/v') => ({
  update_id: updateId,
  message: { message_id: 7, date, chat: { id: 200, type: 'private' }, from: { id: 200, is_bot: false, first_name: 'Alice' }, text },
});

describe('update fingerprints', () => {
  it('are the same for a redelivered update and differ for another update under the same id', () => {
    const first = fingerprintOf(message(1, 1_700_000_000));
    expect(fingerprintOf(message(1, 1_700_000_000))).toEqual(first);
    expect(first.date).toBe(1_700_000_000);
    // The same id a day later (a Bot API server that numbered anew), or other content at the same moment.
    expect(fingerprintOf(message(1, 1_700_086_400)).value).not.toBe(first.value);
    expect(fingerprintOf(message(1, 1_700_000_000, 'https://example.com/other')).value).not.toBe(first.value);
    // The id itself is not part of it.
    expect(fingerprintOf(message(2, 1_700_000_000))).toEqual(first);
  });

  it('date an edit by its edit and a button press by nothing', () => {
    expect(fingerprintOf({ update_id: 1, edited_message: { message_id: 1, date: 10, edit_date: 20 } }).date).toBe(20);
    expect(fingerprintOf({ update_id: 1, callback_query: { id: '42', data: 'n' } }).date).toBeNull();
  });

  it('skip only the same update: a new one, or another one under a known id, is handled', () => {
    const seen = fingerprintOf(message(5, 1_700_000_000));
    expect(judgeRedelivery(null, seen)).toEqual({ verdict: 'new' });
    expect(judgeRedelivery(seen.value, seen)).toEqual({ verdict: 'redelivered' });
    // Marks from before fingerprints were kept.
    expect(judgeRedelivery('1', seen)).toEqual({ verdict: 'redelivered' });
    const later = fingerprintOf(message(5, 1_700_086_400));
    expect(judgeRedelivery(seen.value, later)).toEqual({ verdict: 'reused', rememberedDate: 1_700_000_000 });
    const press = fingerprintOf({ update_id: 5, callback_query: { id: '9', data: 'n' } });
    expect(judgeRedelivery(press.value, later)).toEqual({ verdict: 'reused', rememberedDate: null });
  });
});

describe('HandledUpdates (real Redis)', () => {
  let ns: RedisNamespace;
  beforeAll(async () => {
    ns = await createRedisNamespace('handled-updates');
  });
  afterAll(() => ns.cleanup());

  it('knows exactly the updates marked, by any replica, with their fingerprints, each for the time Telegram may resend it', async () => {
    const one = new HandledUpdates(ns.redis, ns.prefix, 60_000);
    const other = new HandledUpdates(ns.redis, ns.prefix, 60_000);
    const ids = Array.from({ length: 300 }, (_, i) => 5_000 + i);
    // Many at once, as a burst of updates is handled: they go to Redis together.
    await Promise.all(ids.filter((id) => id % 3 === 0).map((id) => one.markHandled(id, fingerprintOf(message(id, 1_700_000_000 + id)))));
    const seen = await Promise.all(ids.map((id) => other.remembered(id)));
    expect(ids.filter((_, i) => seen[i] !== null)).toEqual(ids.filter((id) => id % 3 === 0));
    for (const [i, id] of ids.entries()) if (seen[i] !== null) expect(seen[i]).toBe(fingerprintOf(message(id, 1_700_000_000 + id)).value);
    expect(await ns.redis.pttl(`${ns.prefix}:tg-update:5002`)).toBe(-2);
    const marked = await ns.redis.pttl(`${ns.prefix}:tg-update:5001`);
    expect(marked).toBeGreaterThan(50_000);
    expect(marked).toBeLessThanOrEqual(60_000);
  });

  it('fails its lookups and marks while Redis is away (the bot then handles the update as new)', async () => {
    const away = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    const updates = new HandledUpdates(away, ns.prefix);
    try {
      await expect(updates.remembered(1)).rejects.toThrow();
      await expect(updates.markHandled(1, fingerprintOf(message(1, 1)))).rejects.toThrow();
    } finally {
      away.disconnect();
    }
  });
});
