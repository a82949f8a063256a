import { z } from 'zod';
import { createRedisNamespace, type RedisNamespace } from '@dwld/testkit';
import { decodeEntry, defineEvent, EventValidationError, streamKey } from './event-def';
import { EventPublisher, outgoing } from './publisher';

const ping = defineEvent('ping', 1, z.object({ n: z.number().int() }));
const pong = defineEvent('pong', 1, z.object({ ok: z.boolean() }));

let ns: RedisNamespace;
beforeEach(async () => {
  ns = await createRedisNamespace('publisher');
});
afterEach(async () => {
  await ns.cleanup();
});

describe('EventPublisher', () => {
  it('appends a validated, decodable entry and returns its stream id', async () => {
    const publisher = new EventPublisher({ redis: ns.redis, prefix: ns.prefix });
    const streamId = await publisher.publish(ping, { n: 7 }, { id: 'evt-7' });
    const entries = await ns.redis.xrange(streamKey(ns.prefix, ping), '-', '+');
    expect(entries).toHaveLength(1);
    const [id, flat] = entries[0]!;
    expect(id).toBe(streamId);
    const fields = Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!]));
    expect(decodeEntry(ping, fields)).toMatchObject({ ok: true, eventId: 'evt-7', payload: { n: 7 } });
  });

  it('throws on an invalid payload and writes nothing', async () => {
    const publisher = new EventPublisher({ redis: ns.redis, prefix: ns.prefix });
    await expect(publisher.publish(ping, { n: 'seven' } as never)).rejects.toBeInstanceOf(EventValidationError);
    expect(await ns.redis.exists(streamKey(ns.prefix, ping))).toBe(0);
  });

  it('publishes a batch to several streams, or nothing when one payload is invalid', async () => {
    const publisher = new EventPublisher({ redis: ns.redis, prefix: ns.prefix });
    await expect(
      publisher.publishMany([outgoing(ping, { n: 1 }), outgoing(pong, { ok: 'yes' } as never)]),
    ).rejects.toBeInstanceOf(EventValidationError);
    expect(await ns.redis.exists(streamKey(ns.prefix, ping), streamKey(ns.prefix, pong))).toBe(0);

    const ids = await publisher.publishMany([outgoing(ping, { n: 1 }), outgoing(pong, { ok: true }), outgoing(ping, { n: 2 })]);
    expect(ids).toHaveLength(3);
    expect(await ns.redis.xlen(streamKey(ns.prefix, ping))).toBe(2);
    expect(await ns.redis.xlen(streamKey(ns.prefix, pong))).toBe(1);
  });

  it('keeps a stream near maxLen (approximate trimming drops whole nodes only)', async () => {
    const publisher = new EventPublisher({ redis: ns.redis, prefix: ns.prefix, trim: { maxLen: 100 } });
    for (let i = 0; i < 10; i++) {
      await publisher.publishMany(Array.from({ length: 100 }, (_, j) => outgoing(ping, { n: i * 100 + j })));
    }
    const length = await ns.redis.xlen(streamKey(ns.prefix, ping));
    expect(length).toBeGreaterThanOrEqual(100);
    // One node (stream-node-max-entries, 100 by default) of slack at most.
    expect(length).toBeLessThanOrEqual(200);
  });

  it('drops entries older than maxAgeMs', async () => {
    const key = streamKey(ns.prefix, ping);
    // 300 entries from 1970: MINID ~ drops the whole nodes among them (all, with the default 100 entries a node).
    const old = ns.redis.pipeline();
    for (let i = 1; i <= 300; i++) old.xadd(key, `${i}-0`, 'id', `old-${i}`, 'v', '1', 'at', String(i), 'data', '{"n":0}');
    await old.exec();
    const publisher = new EventPublisher({ redis: ns.redis, prefix: ns.prefix, trim: { maxAgeMs: 60_000 } });
    const fresh = await publisher.publish(ping, { n: 1 });
    const ids = (await ns.redis.xrange(key, '-', '+')).map(([id]) => id);
    expect(ids).not.toContain('1-0');
    expect(ids.length).toBeLessThan(300);
    expect(ids[ids.length - 1]).toBe(fresh);
  });

  it('rejects a nonsensical trim policy', () => {
    expect(() => new EventPublisher({ redis: ns.redis, prefix: ns.prefix, trim: { maxLen: 0 } })).toThrow(/Invalid trim policy/);
  });
});
