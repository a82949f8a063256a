import { createRedisNamespace, type RedisNamespace } from '@dwld/testkit';
import { isMissingGroupError, parseAutoClaimReply, parseInfoList, parsePendingReply, parseReadReply } from './redis-replies';

// The readers against the replies ioredis 6 really returns (RESP3, legacy reply mapping).
let ns: RedisNamespace;
let key: string;
beforeEach(async () => {
  ns = await createRedisNamespace('replies');
  key = `${ns.prefix}:s`;
  await ns.redis.xgroup('CREATE', key, 'g', '0', 'MKSTREAM');
});
afterEach(async () => {
  await ns.cleanup();
});

it('reads XREADGROUP replies, including entries trimmed while pending', async () => {
  const first = await ns.redis.xadd(key, '*', 'id', 'a', 'data', '{}');
  const second = await ns.redis.xadd(key, '*', 'id', 'b', 'data', '{}');
  expect(parseReadReply(await ns.redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 10, 'STREAMS', key, '>'))).toEqual([
    { streamId: first, fields: { id: 'a', data: '{}' } },
    { streamId: second, fields: { id: 'b', data: '{}' } },
  ]);
  expect(parseReadReply(await ns.redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 10, 'BLOCK', 1, 'STREAMS', key, '>'))).toEqual([]);
  await ns.redis.xdel(key, first!);
  expect(parseReadReply(await ns.redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 10, 'STREAMS', key, '0'))).toEqual([
    { streamId: first, fields: null },
    { streamId: second, fields: { id: 'b', data: '{}' } },
  ]);
});

it('reads XAUTOCLAIM, XPENDING and XINFO replies', async () => {
  const kept = await ns.redis.xadd(key, '*', 'id', 'a');
  const trimmed = await ns.redis.xadd(key, '*', 'id', 'b');
  await ns.redis.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 10, 'STREAMS', key, '>');
  await ns.redis.xdel(key, trimmed!);

  const claimed = parseAutoClaimReply(await ns.redis.xautoclaim(key, 'g', 'c2', 0, '0-0', 'COUNT', 10));
  expect(claimed).toEqual({ nextCursor: '0-0', entries: [{ streamId: kept, fields: { id: 'a' } }], deletedIds: [trimmed] });

  expect(parsePendingReply(await ns.redis.xpending(key, 'g', '-', '+', 10))).toEqual([
    { streamId: kept, consumer: 'c2', idleMs: expect.any(Number), deliveries: 2 },
  ]);

  const consumers = parseInfoList(await ns.redis.xinfo('CONSUMERS', key, 'g'), 'XINFO CONSUMERS');
  expect(consumers).toEqual([
    expect.objectContaining({ name: 'c1', pending: 0 }),
    expect.objectContaining({ name: 'c2', pending: 1 }),
  ]);
  const groups = parseInfoList(await ns.redis.xinfo('GROUPS', key), 'XINFO GROUPS');
  expect(groups).toEqual([expect.objectContaining({ name: 'g', pending: 1, consumers: 2 })]);
});

it('refuses shapes it does not know instead of reading them as empty', () => {
  expect(() => parseReadReply({ [key]: [] })).toThrow(/Unexpected XREADGROUP reply shape/);
  expect(() => parseInfoList([{ name: 'g' }], 'XINFO GROUPS')).toThrow(/Unexpected XINFO GROUPS reply shape/);
});

it('recognises a missing group', async () => {
  await ns.redis.del(key);
  const error = await ns.redis.xreadgroup('GROUP', 'g', 'c', 'STREAMS', key, '>').catch((err: unknown) => err);
  expect(isMissingGroupError(error)).toBe(true);
  expect(isMissingGroupError(new Error('UNBLOCKED the stream key no longer exists'))).toBe(true);
  expect(isMissingGroupError(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
});
