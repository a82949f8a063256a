import { z } from 'zod';
import { silentLogger } from '@dwld/logger';
import { createRedisNamespace, waitFor, type RedisNamespace } from '@dwld/testkit';
import { defaultConsumerName, type EventMeta } from './consumer';
import { deadLetterKey, defineEvent, streamKey } from './event-def';
import { createEventBus } from './event-bus';
import { parseInfoList } from './redis-replies';

const ping = defineEvent('ping', 1, z.object({ n: z.number().int() }));
const pong = defineEvent('pong', 1, z.object({ ok: z.boolean() }));

let ns: RedisNamespace;
beforeEach(async () => {
  ns = await createRedisNamespace('bus');
});
afterEach(async () => {
  await ns.cleanup();
});

it('wires a publisher and consumers over one URL, under this process\'s consumer name', async () => {
  const bus = createEventBus({ redis: ns.url, prefix: ns.prefix, logger: silentLogger() });
  const pings: Array<[number, EventMeta]> = [];
  const pongs: boolean[] = [];
  bus.subscribe({ group: 'svc', event: ping, handler: (payload, meta) => void pings.push([payload.n, meta]) });
  bus.subscribe({ group: 'svc', event: pong, handler: (payload) => void pongs.push(payload.ok) });
  await bus.start();
  try {
    await bus.publisher.publish(ping, { n: 1 }, { id: 'evt-1' });
    await bus.publisher.publish(pong, { ok: true });
    await waitFor(() => pings.length === 1 && pongs.length === 1, { what: 'both events' });
    expect(pings[0]![0]).toBe(1);
    expect(pings[0]![1].eventId).toBe('evt-1');
    const consumers = parseInfoList(await ns.redis.xinfo('CONSUMERS', streamKey(ns.prefix, ping), 'svc'), 'XINFO CONSUMERS');
    expect(consumers.map((c) => c.name)).toEqual([defaultConsumerName()]);
  } finally {
    await bus.stop();
  }
  await expect(bus.publisher.publish(ping, { n: 2 })).rejects.toThrow(/Connection is closed/);
});

it('applies the bus-wide consumer defaults: a handler that always fails is dead-lettered after maxDeliveries', async () => {
  const bus = createEventBus({
    redis: ns.url,
    prefix: ns.prefix,
    logger: silentLogger(),
    consumerDefaults: { minIdleMs: 100, reclaimIntervalMs: 50, maxDeliveries: 2 },
  });
  let tries = 0;
  bus.subscribe({
    group: 'svc',
    event: ping,
    handler: () => {
      tries++;
      throw new Error('cannot handle this');
    },
  });
  await bus.start();
  try {
    await bus.publisher.publish(ping, { n: 7 }, { id: 'poison-1' });
    await waitFor(async () => (await ns.redis.xlen(deadLetterKey(ns.prefix, ping))) === 1, { what: 'the event dead-lettered', timeout: 5_000 });
    expect(tries).toBe(2);
  } finally {
    await bus.stop();
  }
});
