import { z } from 'zod';
import { defineEvent, EventConsumer, EventPublisher, outgoing, streamKey } from '@dwld/events';
import { silentLogger } from '@dwld/logger';
import { createRedisNamespace } from '@dwld/testkit';
import { Redis } from 'ioredis';

// A payload the size of a real link.added event.
const benchEvent = defineEvent('bench.event', 1, z.object({ linkId: z.number(), url: z.string(), userId: z.string(), quality: z.string() }));
const payload = (i: number) => ({ linkId: i, url: `https://www.youtube.com/watch?v=${i.toString(36).padStart(11, 'x')}`, userId: '123456789', quality: '1080' });

export interface BusFigures {
  events: number;
  consumers: number;
  bareEventsPerSecond: number;
  libraryEventsPerSecond: number;
}

/** Bare XADD + XREADGROUP + XACK: the ceiling of Redis Streams from one Node process. */
async function bare(url: string, prefix: string, events: number, consumers: number): Promise<number> {
  const key = `${prefix}:bare`;
  const producer = new Redis(url);
  const readers = Array.from({ length: consumers }, () => new Redis(url));
  await producer.xgroup('CREATE', key, 'g', '0', 'MKSTREAM');
  let handled = 0;
  const start = process.hrtime.bigint();
  const produce = (async () => {
    for (let i = 0; i < events; i += 500) {
      const pipeline = producer.pipeline();
      for (let j = i; j < Math.min(events, i + 500); j++) pipeline.xadd(key, '*', 'id', String(j), 'v', '1', 'at', String(Date.now()), 'data', JSON.stringify(payload(j)));
      await pipeline.exec();
    }
  })();
  const consume = readers.map(async (reader, n) => {
    while (handled < events) {
      const reply = (await reader.xreadgroup('GROUP', 'g', `c${n}`, 'COUNT', 100, 'BLOCK', 100, 'STREAMS', key, '>')) as Array<[string, Array<[string, string[]]>]> | null;
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) continue;
      for (const [, fields] of entries) JSON.parse(fields[fields.indexOf('data') + 1]!);
      await reader.xack(key, 'g', ...entries.map(([id]) => id));
      handled += entries.length;
    }
  });
  await Promise.all([produce, ...consume]);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  producer.disconnect();
  readers.forEach((r) => r.disconnect());
  return events / seconds;
}

/** The same traffic through EventPublisher and EventConsumer (validation, acks, bookkeeping). */
async function library(url: string, prefix: string, events: number, consumers: number): Promise<number> {
  const redis = new Redis(url);
  const publisher = new EventPublisher({ redis, prefix });
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const group = Array.from(
    { length: consumers },
    (_, n) =>
      new EventConsumer({
        redis,
        prefix,
        group: 'bench',
        consumer: `c${n}`,
        event: benchEvent,
        logger: silentLogger(),
        handler: () => {
          if (++handled === events) done();
        },
        options: { batchSize: 100, blockMs: 100 },
      }),
  );
  await Promise.all(group.map((c) => c.start()));
  const start = process.hrtime.bigint();
  for (let i = 0; i < events; i += 500) {
    await publisher.publishMany(Array.from({ length: Math.min(500, events - i) }, (_, j) => outgoing(benchEvent, payload(i + j))));
  }
  await finished;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await Promise.all(group.map((c) => c.stop()));
  await redis.del(streamKey(prefix, benchEvent));
  redis.disconnect();
  return events / seconds;
}

export async function benchEventBus(events: number, consumers: number): Promise<BusFigures> {
  const ns = await createRedisNamespace('bench-bus');
  try {
    const bareRate = await bare(ns.url, `${ns.prefix}-bare`, events, consumers);
    const libraryRate = await library(ns.url, `${ns.prefix}-lib`, events, consumers);
    return { events, consumers, bareEventsPerSecond: bareRate, libraryEventsPerSecond: libraryRate };
  } finally {
    await ns.cleanup();
    const cleaner = new Redis(ns.url);
    for (const p of [`${ns.prefix}-bare`, `${ns.prefix}-lib`]) {
      const keys = await cleaner.keys(`${p}*`);
      if (keys.length) await cleaner.del(...keys);
    }
    cleaner.disconnect();
  }
}
