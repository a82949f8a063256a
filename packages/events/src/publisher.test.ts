import { z } from 'zod';
import { createRedisNamespace, waitFor, type RedisNamespace } from '@dwld/testkit';
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

  /** A group that read the first `read` entries of the stream and acknowledged the first `acked` of them. */
  async function groupThatRead(key: string, group: string, read: number, acked: number): Promise<string[]> {
    await ns.redis.xgroup('CREATE', key, group, '0', 'MKSTREAM');
    if (read === 0) return [];
    const reply = (await ns.redis.xreadgroup('GROUP', group, 'c', 'COUNT', read, 'STREAMS', key, '>')) as Array<[string, Array<[string, string[]]>]>;
    const ids = reply[0]![1].map(([id]) => id);
    if (acked > 0) await ns.redis.xack(key, group, ...ids.slice(0, acked));
    return ids;
  }
  const idsOf = async (key: string) => (await ns.redis.xrange(key, '-', '+')).map(([id]) => id);

  it('past maxLen drops what every group acknowledged, and nothing a group has pending or not yet read', async () => {
    const key = streamKey(ns.prefix, ping);
    const publisher = new EventPublisher({ redis: ns.redis, prefix: ns.prefix, trim: { maxLen: 100 }, trimEvery: 1_000_000 });
    for (let i = 0; i < 10; i++) await publisher.publishMany(Array.from({ length: 100 }, (_, j) => outgoing(ping, { n: i * 100 + j })));
    const all = await idsOf(key);
    // "fast" read 900 and acknowledged 800 of them; "slow" read 600 and acknowledged all of those.
    await groupThatRead(key, 'fast', 900, 800);
    await groupThatRead(key, 'slow', 600, 600);
    expect(await publisher.trimStream(ping)).toBeGreaterThan(0);
    const left = await idsOf(key);
    // Everything from slow's first unread entry on is still there: slow needs it.
    expect(left.slice(-400)).toEqual(all.slice(600));
    // Whole nodes (100 entries each by default) went: at most one node of slack below the floor.
    expect(left.length).toBeLessThanOrEqual(500);

    // slow catches up to where fast is: now fast's first pending entry (the 801st) is the floor.
    const more = (await ns.redis.xreadgroup('GROUP', 'slow', 'c', 'COUNT', 300, 'STREAMS', key, '>')) as Array<[string, Array<[string, string[]]>]>;
    await ns.redis.xack(key, 'slow', ...more[0]![1].map(([id]) => id));
    await publisher.trimStream(ping);
    const after = await idsOf(key);
    expect(after.slice(-200)).toEqual(all.slice(800));
    expect(after.length).toBeLessThanOrEqual(300);
  });

  it('never trims entries delivered but not acknowledged, nor entries no group has read', async () => {
    const key = streamKey(ns.prefix, ping);
    const publisher = new EventPublisher({ redis: ns.redis, prefix: ns.prefix, trim: { maxLen: 10 }, trimEvery: 1_000_000 });
    await publisher.publishMany(Array.from({ length: 300 }, (_, n) => outgoing(ping, { n })));
    // No group yet: groups start at the first entry, so none may go.
    expect(await publisher.trimStream(ping)).toBe(0);
    await groupThatRead(key, 'unread', 0, 0);
    expect(await publisher.trimStream(ping)).toBe(0);
    await ns.redis.xgroup('DESTROY', key, 'unread');
    await groupThatRead(key, 'pending', 300, 0);
    expect(await publisher.trimStream(ping)).toBe(0);
    expect(await ns.redis.xlen(key)).toBe(300);
  });

  it('leaves a stream within maxLen alone', async () => {
    const key = streamKey(ns.prefix, ping);
    const publisher = new EventPublisher({ redis: ns.redis, prefix: ns.prefix, trim: { maxLen: 1000 }, trimEvery: 1_000_000 });
    await publisher.publishMany(Array.from({ length: 300 }, (_, n) => outgoing(ping, { n })));
    await groupThatRead(key, 'all', 300, 300);
    expect(await publisher.trimStream(ping)).toBe(0);
    expect(await ns.redis.xlen(key)).toBe(300);
  });

  it('checks by itself every trimEvery publishes to a stream', async () => {
    const key = streamKey(ns.prefix, ping);
    const publisher = new EventPublisher({ redis: ns.redis, prefix: ns.prefix, trim: { maxLen: 100 }, trimEvery: 50 });
    await publisher.publishMany(Array.from({ length: 400 }, (_, n) => outgoing(ping, { n })));
    await groupThatRead(key, 'all', 400, 400);
    for (let i = 0; i < 49; i++) await publisher.publish(ping, { n: i });
    expect(await ns.redis.xlen(key)).toBe(449);
    await publisher.publish(ping, { n: 49 });
    await waitFor(async () => (await ns.redis.xlen(key)) < 450, { what: 'the background trim' });
    // The 50 entries not read by the group are all still there.
    expect((await idsOf(key)).length).toBeGreaterThanOrEqual(50);
  });

  it('with maxAgeMs drops old entries every group acknowledged, and keeps old ones a group still needs', async () => {
    const key = streamKey(ns.prefix, ping);
    // 300 entries from 1970, then 300 from 1971: MINID ~ drops the whole nodes among them.
    const old = ns.redis.pipeline();
    for (let i = 1; i <= 600; i++) old.xadd(key, `${i <= 300 ? i : 31_536_000_000 + i}-0`, 'id', `old-${i}`, 'v', '1', 'at', String(i), 'data', '{"n":0}');
    await old.exec();
    await groupThatRead(key, 'g', 600, 300);
    const publisher = new EventPublisher({ redis: ns.redis, prefix: ns.prefix, trim: { maxAgeMs: 60_000 }, trimEvery: 1_000_000 });
    const fresh = await publisher.publish(ping, { n: 1 });
    expect(await publisher.trimStream(ping)).toBe(300);
    const ids = await idsOf(key);
    expect(ids).toHaveLength(301);
    expect(ids[0]).toBe('31536000301-0');
    expect(ids[ids.length - 1]).toBe(fresh);
  });

  it('publishes entries encoded earlier as they were, with their own version and time', async () => {
    const publisher = new EventPublisher({ redis: ns.redis, prefix: ns.prefix });
    const [streamId] = await publisher.publishEncoded([{ type: 'ping', fields: { id: 'evt-old', v: '1', at: '1000', data: '{"n":3}' } }]);
    const [id, flat] = ((await ns.redis.xrange(streamKey(ns.prefix, ping), '-', '+')) as Array<[string, string[]]>)[0]!;
    expect(id).toBe(streamId);
    expect(flat).toEqual(['id', 'evt-old', 'v', '1', 'at', '1000', 'data', '{"n":3}']);
    expect(publisher.ready).toBe(true);
  });

  it('rejects a nonsensical trim policy', () => {
    expect(() => new EventPublisher({ redis: ns.redis, prefix: ns.prefix, trim: { maxLen: 0 } })).toThrow(/Invalid trim policy/);
  });
});
