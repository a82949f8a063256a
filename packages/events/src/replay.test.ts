import { z } from 'zod';
import { silentLogger } from '@dwld/logger';
import { createRedisNamespace, waitFor, type RedisNamespace } from '@dwld/testkit';
import type { EventMeta } from './consumer';
import { deadLetterKey, defineEvent } from './event-def';
import { createEventBus, type EventBus } from './event-bus';
import { replayDeadLetters } from './replay';
import { runReplay } from './replay-main';

const ping = defineEvent('ping', 1, z.object({ n: z.number().int() }));

let ns: RedisNamespace;
let bus: EventBus;
beforeEach(async () => {
  ns = await createRedisNamespace('replay');
});
afterEach(async () => {
  await bus?.stop();
  await ns.cleanup();
});

/** A bus whose ping handler fails for n=7 while `broken` says so, and records what it handled. */
async function startBus(state: { broken: boolean }, handled: Array<[number, EventMeta]>): Promise<void> {
  bus = createEventBus({ redis: ns.url, prefix: ns.prefix, logger: silentLogger(), consumerDefaults: { blockMs: 200, retryDelayMs: 20, reclaimIntervalMs: 20, minIdleMs: 50, maxDeliveries: 2 } });
  bus.subscribe({
    group: 'svc',
    event: ping,
    handler: (payload, meta) => {
      if (payload.n === 7 && state.broken) throw new Error('cannot handle n=7 yet');
      handled.push([payload.n, meta]);
    },
  });
  await bus.start();
}

const run = async (args: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runReplay(args, { REDIS_URL: ns.url, STREAM_PREFIX: ns.prefix }, (t) => out.push(t), (t) => err.push(t));
  return { code, out: out.join(''), err: err.join('') };
};

it('counts dead letters per stream, and `events:replay <stream>` hands them back under the same event id, once', async () => {
  const state = { broken: true };
  const handled: Array<[number, EventMeta]> = [];
  await startBus(state, handled);
  await bus.publisher.publishMany([6, 7, 8].map((n) => ({ event: ping, payload: { n }, id: `evt-${n}` })));
  await waitFor(async () => (await bus.deadLetters()).some((d) => d.count === 1), { what: 'n=7 set aside' });
  expect(await bus.deadLetters()).toEqual([{ stream: `${ns.prefix}:ping`, count: 1 }]);
  expect(handled.map(([n]) => n)).toEqual([6, 8]);

  // Looking changes nothing.
  const dry = await run(['ping', '--dry-run']);
  expect(dry).toMatchObject({ code: 0, err: '' });
  expect(dry.out).toMatch(/would replay evt-7: set aside because handler failed 2 times, last: cannot handle n=7 yet/);
  expect(dry.out).toMatch(/1 entry in .*:ping:dead; nothing replayed/);
  expect(await ns.redis.xlen(deadLetterKey(ns.prefix, ping))).toBe(1);

  // The cause is fixed; the entry goes back, and the consumer handles it with its own event id.
  state.broken = false;
  const replayed = await run([`${ns.prefix}:ping`]);
  expect(replayed).toMatchObject({ code: 0, err: '' });
  expect(replayed.out).toMatch(/1 entry moved from .*:ping:dead back to .*:ping\n$/);
  await waitFor(() => handled.length === 3, { what: 'the replayed entry handled' });
  expect(handled[2]![0]).toBe(7);
  expect(handled[2]![1]).toMatchObject({ eventId: 'evt-7', deliveries: 1 });
  expect(await bus.deadLetters()).toEqual([{ stream: `${ns.prefix}:ping`, count: 0 }]);
  // Nothing left to replay: a second run moves nothing.
  expect((await run(['ping'])).out).toMatch(/^0 entries moved/);
});

it('keeps the original fields and drops the consumer\'s notes', async () => {
  const dead = deadLetterKey(ns.prefix, ping);
  await ns.redis.xadd(dead, '*', 'id', 'evt-1', 'v', '1', 'at', '1000', 'data', '{"n":1}', 'error', 'boom', 'streamId', '1-0', 'group', 'svc', 'consumer', 'c', 'deliveries', '5', 'deadAt', '2000');
  await ns.redis.xadd(dead, '*', 'id', 'evt-2', 'v', '1', 'at', '1001', 'data', '{"n":2}', 'error', 'boom');
  const outcome = await replayDeadLetters(ns.redis, ns.prefix, 'ping');
  expect(outcome).toMatchObject({ replayed: 2, entries: [{ eventId: 'evt-1', error: 'boom' }, { eventId: 'evt-2', error: 'boom' }] });
  const entries = (await ns.redis.xrange(`${ns.prefix}:ping`, '-', '+')).map(([, fields]) => fields);
  expect(entries).toEqual([['id', 'evt-1', 'v', '1', 'at', '1000', 'data', '{"n":1}'], ['id', 'evt-2', 'v', '1', 'at', '1001', 'data', '{"n":2}']]);
  expect(await ns.redis.xlen(dead)).toBe(0);
});

it('answers a wrong call with its usage or a clear error, and moves nothing', async () => {
  expect(await run([])).toMatchObject({ code: 2, err: expect.stringMatching(/^usage: pnpm events:replay <stream>/) });
  expect(await run(['a', 'b'])).toMatchObject({ code: 2 });
  expect(await run(['Not A Stream!'])).toMatchObject({ code: 1, err: expect.stringMatching(/is not a stream name/) });
  const down = await runReplay(['ping'], { REDIS_URL: 'redis://127.0.0.1:1', STREAM_PREFIX: 'x' }, () => undefined, () => undefined);
  expect(down).toBe(1);
});
