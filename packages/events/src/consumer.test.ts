import { z } from 'zod';
import { PassThrough } from 'node:stream';
import { createLogger, silentLogger, type Logger } from '@dwld/logger';
import { createRedisNamespace, deferred, waitFor, type RedisNamespace } from '@dwld/testkit';
import { Redis } from 'ioredis';
import { EventConsumer, type EventConsumerOptions, type EventHandler, type EventMeta } from './consumer';
import { deadLetterKey, defineEvent, streamKey } from './event-def';
import { EventPublisher, outgoing } from './publisher';
import { flatToRecord, parseInfoList, parsePendingReply } from './redis-replies';

const ping = defineEvent('ping', 1, z.object({ n: z.number().int() }));
type Ping = z.output<typeof ping.schema>;

interface Handled {
  n: number;
  consumer: string;
  meta: EventMeta;
}

// Short back-offs and reclaim ticks keep the suite fast; minIdleMs stays long unless a test
// is about reclaiming.
const FAST: EventConsumerOptions = { blockMs: 1_000, retryDelayMs: 20, reclaimIntervalMs: 50, minIdleMs: 60_000 };

let ns: RedisNamespace;
let publisher: EventPublisher;
let stream: string;
const started: Array<EventConsumer<typeof ping>> = [];
type Gate = ReturnType<typeof deferred<void>>;
/** Gates the tests hold handlers on; opened before the consumers are stopped. */
const gates: Array<Gate> = [];

beforeEach(async () => {
  ns = await createRedisNamespace('consumer');
  publisher = new EventPublisher({ redis: ns.redis, prefix: ns.prefix });
  stream = streamKey(ns.prefix, ping);
});

afterEach(async () => {
  for (const gate of gates.splice(0)) gate.resolve();
  await Promise.all(started.splice(0).map((consumer) => consumer.stop()));
  await ns.cleanup();
});

function gate(): Gate {
  const g = deferred<void>();
  gates.push(g);
  return g;
}

/** A consumer of `ping` that records what it handled in `handled` (after its handler succeeds). */
function createConsumer(
  name: string,
  handled: Handled[],
  {
    group = 'workers',
    handler,
    options,
    logger = silentLogger(),
    redis = ns.redis,
  }: { group?: string; handler?: EventHandler<typeof ping>; options?: EventConsumerOptions; logger?: Logger; redis?: Redis | string } = {},
): EventConsumer<typeof ping> {
  const consumer = new EventConsumer({
    redis,
    prefix: ns.prefix,
    group,
    consumer: name,
    event: ping,
    logger,
    options: { ...FAST, ...options },
    handler: async (payload: Ping, meta) => {
      await handler?.(payload, meta);
      handled.push({ n: payload.n, consumer: name, meta });
    },
  });
  started.push(consumer);
  return consumer;
}

async function publishRange(from: number, to: number): Promise<void> {
  const events = [];
  for (let n = from; n < to; n++) events.push(outgoing(ping, { n }, { id: `evt-${n}` }));
  await publisher.publishMany(events);
}

async function pendingOf(group: string): Promise<number> {
  const summary = (await ns.redis.xpending(stream, group)) as [number, ...unknown[]];
  return summary[0];
}

async function deadLetters(): Promise<Array<Record<string, string>>> {
  const entries = await ns.redis.xrange(deadLetterKey(ns.prefix, ping), '-', '+');
  return entries.map(([, fields]) => flatToRecord(fields) as Record<string, string>);
}

async function consumerNames(group: string): Promise<string[]> {
  return parseInfoList(await ns.redis.xinfo('CONSUMERS', stream, group), 'XINFO CONSUMERS').map((c) => String(c.name));
}

const numbers = (handled: Handled[]) => handled.map((h) => h.n);

/** A logger whose lines the test can read back. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  return { logger: createLogger({ service: 'test', level: 'debug', json: true, stream }), lines };
}

/** The CLIENT LIST line of a consumer's blocking connection. */
async function readerClient(group: string, consumer: string): Promise<string | undefined> {
  const clients = String(await ns.redis.client('LIST'));
  return clients.split('\n').find((line) => line.includes(` name=events:${group}:${consumer} `));
}

describe('EventConsumer', () => {
  it('delivers each event to exactly one consumer of a group, and every event to every group', async () => {
    const workers: Handled[] = [];
    const auditors: Handled[] = [];
    // Small batches and a yielding handler so both workers get a share.
    const yieldOnce: EventHandler<typeof ping> = () => new Promise((resolve) => setImmediate(resolve));
    const consumers = [
      createConsumer('w1', workers, { handler: yieldOnce, options: { batchSize: 5 } }),
      createConsumer('w2', workers, { handler: yieldOnce, options: { batchSize: 5 } }),
      createConsumer('a1', auditors, { group: 'auditors' }),
    ];
    await Promise.all(consumers.map((c) => c.start()));
    for (let i = 0; i < 200; i += 50) await publishRange(i, i + 50);

    await waitFor(() => workers.length >= 200 && auditors.length >= 200, { what: '200 events in both groups' });
    // Everything acknowledged: nothing can be delivered again.
    await waitFor(async () => (await pendingOf('workers')) === 0 && (await pendingOf('auditors')) === 0, { what: 'all acked' });

    const expected = Array.from({ length: 200 }, (_, n) => n);
    expect(numbers(workers).sort((a, b) => a - b)).toEqual(expected);
    expect(numbers(auditors)).toEqual(expected); // one consumer, concurrency 1: in stream order
    expect(workers.filter((h) => h.consumer === 'w1').length).toBeGreaterThan(0);
    expect(workers.filter((h) => h.consumer === 'w2').length).toBeGreaterThan(0);
    expect(workers.every((h) => h.meta.deliveries === 1 && h.meta.eventId === `evt-${h.n}`)).toBe(true);
  });

  it('delivers events published before the first consumer started', async () => {
    await publishRange(0, 5);
    const handled: Handled[] = [];
    await createConsumer('late', handled).start();
    await waitFor(() => handled.length === 5, { what: 'the earlier events' });
    expect(numbers(handled)).toEqual([0, 1, 2, 3, 4]);
    expect(handled[0]!.meta.publishedAt).toBeInstanceOf(Date);
  });

  it('runs at most `concurrency` handlers at once', async () => {
    const handled: Handled[] = [];
    const open = gate();
    let active = 0;
    let maxActive = 0;
    const consumer = createConsumer('c', handled, {
      options: { concurrency: 3 },
      handler: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await open.promise;
        active--;
      },
    });
    await consumer.start();
    await publishRange(0, 10);
    // Unbounded, all ten would start at once and `active` would skip past 3.
    await waitFor(() => active === 3, { what: 'three handlers running' });
    open.resolve();
    await waitFor(() => handled.length === 10, { what: 'all ten handled' });
    expect(maxActive).toBe(3);
  });

  it('redelivers to another consumer what a crashed consumer left unacknowledged', async () => {
    const crashedSaw: number[] = [];
    const handled: Handled[] = [];
    const crashed = createConsumer('crashed', [], {
      handler: (payload) => {
        crashedSaw.push(payload.n);
        return gate().promise; // never settles before the crash
      },
    });
    await crashed.start();
    await publishRange(0, 1);
    await waitFor(() => crashedSaw.length === 1, { what: 'the first consumer to take the event' });
    crashed.abandon();

    const survivor = createConsumer('survivor', handled, { options: { minIdleMs: 100, reclaimIntervalMs: 30 } });
    await survivor.start();
    await publishRange(1, 3);

    await waitFor(() => handled.length === 3, { what: 'all three events at the survivor' });
    await waitFor(async () => (await pendingOf('workers')) === 0, { what: 'all acked' });
    expect(crashedSaw).toEqual([0]);
    expect(numbers(handled).sort()).toEqual([0, 1, 2]);
    const reclaimed = handled.find((h) => h.n === 0)!;
    expect(reclaimed.meta.deliveries).toBe(2);
    expect(reclaimed.meta.eventId).toBe('evt-0');
  });

  it('dead-letters an entry whose handler keeps failing, while the others flow', async () => {
    const handled: Handled[] = [];
    const poisonAttempts: number[] = [];
    const consumer = createConsumer('c', handled, {
      options: { maxDeliveries: 3, minIdleMs: 100, reclaimIntervalMs: 30 },
      handler: (payload, meta) => {
        if (payload.n !== 7) return;
        poisonAttempts.push(meta.deliveries);
        throw new Error(`cannot handle n=${payload.n}`);
      },
    });
    await consumer.start();
    await publishRange(0, 20);
    const poisonId = (await ns.redis.xrange(stream, '-', '+'))[7]![0];

    await waitFor(async () => (await deadLetters()).length === 1, { what: 'a dead letter' });
    await waitFor(() => handled.length === 19, { what: 'the other events' });
    expect(numbers(handled)).toEqual(Array.from({ length: 20 }, (_, n) => n).filter((n) => n !== 7));
    expect(poisonAttempts).toEqual([1, 2, 3]);
    const [dead] = await deadLetters();
    expect(dead).toMatchObject({
      id: 'evt-7',
      v: '1',
      data: '{"n":7}',
      streamId: poisonId,
      group: 'workers',
      consumer: 'c',
      deliveries: '3',
    });
    expect(dead!.error).toMatch(/cannot handle n=7/);
    await waitFor(async () => (await pendingOf('workers')) === 0, { what: 'every entry acknowledged' });
  });

  it('dead-letters unreadable entries at once, without calling the handler', async () => {
    const handled: Handled[] = [];
    const raw = { id: 'raw', v: '1', at: '1', data: '{"n":1}' };
    const add = (fields: Record<string, string>) => ns.redis.xadd(stream, '*', ...Object.entries(fields).flat());
    await add({ ...raw, id: 'bad-json', data: '{n:' });
    await add({ ...raw, id: 'v2', v: '2' });
    await add({ ...raw, id: 'wrong-shape', data: '{"n":"one"}' });
    await add({ v: '1', at: '1', data: '{"n":1}' });
    await publishRange(100, 101);
    await createConsumer('c', handled).start();

    await waitFor(() => handled.length === 1, { what: 'the valid event' });
    await waitFor(async () => (await deadLetters()).length === 4, { what: 'four dead letters' });
    expect(numbers(handled)).toEqual([100]);
    const reasons = Object.fromEntries((await deadLetters()).map((d) => [d.id ?? '(none)', d.error]));
    expect(reasons).toEqual({
      'bad-json': 'entry data is not valid JSON',
      v2: expect.stringMatching(/unsupported version 2/),
      'wrong-shape': expect.stringMatching(/invalid payload: n:/),
      '(none)': 'entry has no event id',
    });
    await waitFor(async () => (await pendingOf('workers')) === 0, { what: 'every entry acknowledged' });
  });

  it('loses nothing across a restart under the same consumer name', async () => {
    const before: Handled[] = [];
    const hold = gate();
    let holding = false;
    const first = createConsumer('svc-1', before, {
      options: { batchSize: 10 },
      handler: async (payload) => {
        if (payload.n !== 4) return;
        holding = true;
        await hold.promise;
      },
    });
    // Published first, so the first read takes exactly 0..9.
    await publishRange(0, 50);
    await first.start();
    await waitFor(() => holding, { what: 'the handler of event 4' });

    const stopped = first.stop();
    hold.resolve();
    await stopped;
    // Event 4 was running and finished; 5..9 had been read with it and stay pending.
    expect(numbers(before)).toEqual([0, 1, 2, 3, 4]);
    const pending = parsePendingReply(await ns.redis.xpending(stream, 'workers', '-', '+', 100));
    expect(pending.map((p) => p.consumer)).toEqual(Array(5).fill('svc-1'));

    await publishRange(50, 100);
    const after: Handled[] = [];
    await createConsumer('svc-1', after).start();
    await waitFor(() => after.length === 95, { what: 'the other 95 events' });
    await waitFor(async () => (await pendingOf('workers')) === 0, { what: 'all acked' });

    expect([...numbers(before), ...numbers(after)]).toEqual(Array.from({ length: 100 }, (_, n) => n));
    expect(after.slice(0, 5).map((h) => h.meta.deliveries)).toEqual([2, 2, 2, 2, 2]);
  });

  it('removes stale consumers of its group only when they have nothing pending', async () => {
    await publishRange(0, 2);
    await ns.redis.xgroup('CREATE', stream, 'workers', '0');
    // "busy" read both entries and died; then "empty" registered and died without reading.
    await ns.redis.xreadgroup('GROUP', 'workers', 'busy', 'COUNT', 10, 'STREAMS', stream, '>');
    await ns.redis.xgroup('CREATECONSUMER', stream, 'workers', 'empty');

    const handled: Handled[] = [];
    await createConsumer('live', handled, { options: { staleConsumerMs: 200 } }).start();
    await waitFor(async () => !(await consumerNames('workers')).includes('empty'), { what: '"empty" to be removed' });
    // "busy" has been idle longer than "empty", so the same pass saw it stale and kept it.
    expect(await consumerNames('workers')).toEqual(expect.arrayContaining(['busy', 'live']));

    await ns.redis.xack(stream, 'workers', ...parsePendingReply(await ns.redis.xpending(stream, 'workers', '-', '+', 10)).map((p) => p.streamId));
    await waitFor(async () => !(await consumerNames('workers')).includes('busy'), { what: '"busy" to be removed once acked' });
    expect(await consumerNames('workers')).toEqual(['live']); // never itself
  });

  it(
    'stops promptly while blocked in a long read',
    async () => {
      // Over its own connections (a URL), which stop() closes too.
      const consumer = createConsumer('c', [], { redis: ns.url, options: { blockMs: 10_000 } });
      await consumer.start();
      await waitFor(async () => / flags=b .* cmd=xreadgroup /.test((await readerClient('workers', 'c')) ?? ''), {
        what: 'the consumer to block in XREADGROUP',
      });
      // The test times out (5 s) well before the 10 s block would end by itself.
      await consumer.stop();
      await waitFor(async () => (await readerClient('workers', 'c')) === undefined, { what: 'the reader to disconnect' });
    },
    5_000,
  );

  it('lets a running handler finish and acknowledges it before stop() returns', async () => {
    const order: string[] = [];
    const hold = gate();
    const consumer = createConsumer('c', [], {
      handler: async () => {
        order.push('handler started');
        await hold.promise;
        order.push('handler finished');
      },
    });
    await consumer.start();
    await publishRange(0, 1);
    await waitFor(() => order.length === 1, { what: 'the handler to start' });

    const stopped = consumer.stop().then(() => order.push('stopped'));
    // Round trips give a stop() that did not wait every chance to return early.
    for (let i = 0; i < 5; i++) await ns.redis.ping();
    hold.resolve();
    await stopped;
    expect(order).toEqual(['handler started', 'handler finished', 'stopped']);
    expect(await pendingOf('workers')).toBe(0);
  });

  it('recreates its group when the stream is deleted under it', async () => {
    const handled: Handled[] = [];
    await createConsumer('c', handled).start();
    await publishRange(0, 1);
    await waitFor(() => handled.length === 1, { what: 'the first event' });

    await ns.redis.del(stream);
    await publishRange(1, 2);
    await waitFor(() => handled.length === 2, { what: 'the event after the deletion' });
    expect(numbers(handled)).toEqual([0, 1]);
    await waitFor(async () => (await pendingOf('workers')) === 0, { what: 'every entry acknowledged' });
  });

  it('keeps going through Redis errors and a killed connection', async () => {
    const handled: Handled[] = [];
    const { logger, lines } = capturingLogger();
    await createConsumer('c', handled, { logger }).start();
    await publishRange(0, 1);
    await waitFor(() => handled.length === 1, { what: 'the first event' });

    // The key turns into a string: reads and group creation fail with WRONGTYPE for a while.
    await ns.redis.multi().del(stream).set(stream, 'not a stream').exec();
    await waitFor(() => lines.filter((line) => line.includes('WRONGTYPE')).length >= 2, { what: 'repeated WRONGTYPE errors' });
    await ns.redis.del(stream);
    await publishRange(1, 2);
    await waitFor(() => handled.length === 2, { what: 'the event after the errors' });

    // The blocking connection dies; ioredis reconnects and the read goes on.
    const reader = await readerClient('workers', 'c');
    expect(reader).toBeDefined();
    await ns.redis.client('KILL', 'ID', /\bid=(\d+)/.exec(reader!)![1]!);
    await publishRange(2, 3);
    await waitFor(() => handled.length === 3, { what: 'the event after the reconnection' });
    expect(numbers(handled)).toEqual([0, 1, 2]);
  });

  it('reports pending and undelivered entries', async () => {
    const hold = gate();
    const consumer = createConsumer('c', [], { options: { batchSize: 1 }, handler: () => hold.promise });
    await consumer.start();
    await publishRange(0, 1);
    await waitFor(async () => (await consumer.backlog()).pending === 1, { what: 'the first event in a handler' });
    await publishRange(1, 3);
    expect(await consumer.backlog()).toEqual({ pending: 1, lag: 2 });
    hold.resolve();
    await waitFor(async () => {
      const { pending, lag } = await consumer.backlog();
      return pending === 0 && lag === 0;
    }, { what: 'an empty backlog' });
  });

  it('rejects start() when the group cannot be created, and lets go of its connections', async () => {
    await ns.redis.set(stream, 'not a stream');
    const consumer = createConsumer('c', [], { redis: ns.url });
    await expect(consumer.start()).rejects.toThrow(/WRONGTYPE/);
    await waitFor(async () => (await readerClient('workers', 'c')) === undefined, { what: 'the reader to disconnect' });
    await expect(consumer.start()).rejects.toThrow(/already started/);
  });

  it('refuses a connection that maps replies the RESP3 way', () => {
    const resp3 = new Redis(ns.url, { lazyConnect: true, protocol: 3, replyMapping: 'resp3' });
    expect(() => createConsumer('c', [], { redis: resp3 })).toThrow(/replyMapping "legacy"/);
    resp3.disconnect();
  });

  it('refuses options that would let held entries be taken over', () => {
    expect(() => createConsumer('c', [], { options: { reclaimIntervalMs: 1_000, minIdleMs: 1_000 } })).toThrow(/must be below minIdleMs/);
    expect(() => createConsumer('c', [], { options: { concurrency: 0 } })).toThrow(/Invalid consumer option concurrency/);
  });
});
