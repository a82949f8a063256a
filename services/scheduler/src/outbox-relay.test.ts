import { connectDatabase, EventOutbox, Prisma, type Database, type Sql } from '@dwld/db';
import { dispatchResult, EventPublisher, streamKey } from '@dwld/events';
import { silentLogger } from '@dwld/logger';
import { createRedisNamespace, createTestDatabase, freePort, waitFor, type RedisNamespace, type TestDatabase } from '@dwld/testkit';
import { Redis } from 'ioredis';
import { SchedulerMetrics } from './metrics';
import { entryOf, OutboxRelay, outboxEntry } from './outbox-relay';

describe('OutboxRelay (real PostgreSQL and Redis)', () => {
  let testDb: TestDatabase;
  let db: Database;
  let sql: Sql;
  let ns: RedisNamespace;
  let outbox: EventOutbox;
  const relays: OutboxRelay[] = [];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    ({ db, sql } = connectDatabase(testDb.url, { poolSize: 6 }));
    outbox = new EventOutbox(sql);
  });
  afterAll(async () => {
    await db.$disconnect();
    await testDb.drop();
  });
  beforeEach(async () => {
    ns = await createRedisNamespace('relay');
    await db.outboxEvent.deleteMany();
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await ns.cleanup();
  });

  function relay(redis: Redis = ns.redis, options: { graceMs?: number; batchSize?: number; sweepIntervalMs?: number } = {}) {
    const metrics = new SchedulerMetrics(async () => 0, { outboxPending: () => outbox.count() });
    const r = new OutboxRelay({ outbox, publisher: new EventPublisher({ redis, prefix: ns.prefix }), logger: silentLogger(), metrics, graceMs: 0, ...options });
    relays.push(r);
    return { relay: r, metrics };
  }
  const result = (linkId: number) => outboxEntry(dispatchResult, {
    linkId, urgentEventId: null, url: `https://example.com/${linkId}`, userId: '5', chatId: '5', messageId: null, replyMessageId: null,
    ok: true, downloader: 'nas', error: null, attempts: 1, nextAttemptAt: null, failed: false,
  }, `dispatch.result:${linkId}:1`);
  /** The dispatch.result entries on the stream: their event ids, in stream order. */
  const onStream = async () => (await ns.redis.xrange(streamKey(ns.prefix, dispatchResult), '-', '+')).map(([, fields]) => fields[fields.indexOf('id') + 1]);

  it('refuses, where it is written, a payload the event\'s schema refuses', () => {
    expect(() => outboxEntry(dispatchResult, { linkId: 1 } as never, 'x')).toThrow(/Invalid "dispatch.result" payload/);
  });

  it('publishes rows right after their commit, as they were written, and deletes them', async () => {
    const { relay: r, metrics } = relay(ns.redis, { graceMs: 60_000 });
    const rows = await outbox.add([result(1), result(2)]);
    expect(await r.written(rows)).toBe(true);
    expect(await onStream()).toEqual(['dispatch.result:1:1', 'dispatch.result:2:1']);
    const [, fields] = (await ns.redis.xrange(streamKey(ns.prefix, dispatchResult), '-', '+'))[0]!;
    expect(fields).toEqual(['id', 'dispatch.result:1:1', 'v', '1', 'at', String(rows[0]!.createdAt.getTime()), 'data', rows[0]!.data]);
    await waitFor(async () => (await outbox.count()) === 0, { what: 'the rows deleted' });
    expect((await metrics.registry.getSingleMetricAsString('dwld_scheduler_outbox_relayed_total'))).toMatch(/path="direct"[^}]*} 2$/m);
  });

  it('leaves rows to the sweeps while Redis is down, and a sweep publishes them once it is back', async () => {
    const away = new Redis(`redis://127.0.0.1:${await freePort()}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    away.on('error', () => undefined);
    const { relay: down } = relay(away);
    const rows = await outbox.add([result(1), result(2), result(3)]);
    expect(await down.written(rows)).toBe(false);
    // Not even a transaction is opened for it.
    expect(await down.sweep()).toBe(0);
    expect(await outbox.count()).toBe(3);
    const { relay: back, metrics } = relay(ns.redis, { batchSize: 2 });
    expect(await back.sweep()).toBe(3);
    expect(await onStream()).toEqual(['dispatch.result:1:1', 'dispatch.result:2:1', 'dispatch.result:3:1']);
    expect(await outbox.count()).toBe(0);
    expect(await metrics.registry.getSingleMetricAsString('dwld_scheduler_outbox_relayed_total')).toMatch(/path="sweep"[^}]*} 3$/m);
    expect(await metrics.registry.getSingleMetricAsString('dwld_scheduler_outbox_pending')).toMatch(/dwld_scheduler_outbox_pending\{service="scheduler"} 0/);
    away.disconnect();
  });

  it('sweeps by itself every interval, and leaves rows younger than the grace to their writer', async () => {
    const { relay: r } = relay(ns.redis, { graceMs: 60_000, sweepIntervalMs: 20 });
    r.start();
    await outbox.add([result(1)]);
    await outbox.add([result(2)]);
    await sql.rows(Prisma.sql`UPDATE event_outbox SET created_at = now() - interval '2 minutes' WHERE event_id = 'dispatch.result:2:1'`);
    await waitFor(async () => (await onStream()).length === 1, { what: 'the old row swept' });
    expect(await onStream()).toEqual(['dispatch.result:2:1']);
    expect((await db.outboxEvent.findMany()).map((e) => e.eventId)).toEqual(['dispatch.result:1:1']);
  });

  it('shares the rows between replicas sweeping at once: each event on the stream once', async () => {
    await outbox.add(Array.from({ length: 1_000 }, (_, i) => result(i + 1)));
    const replicas = [relay(ns.redis, { batchSize: 50 }).relay, relay(ns.redis, { batchSize: 50 }).relay, relay(ns.redis, { batchSize: 50 }).relay];
    const counts = await Promise.all(replicas.map((r) => r.sweep()));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1_000);
    const ids = await onStream();
    expect(ids).toHaveLength(1_000);
    expect(new Set(ids).size).toBe(1_000);
    expect(await outbox.count()).toBe(0);
  });

  it('keeps an event\'s own time, id and version on the stream (entryOf)', () => {
    const createdAt = new Date('2026-12-01T10:00:00.000Z');
    expect(entryOf({ eventId: 'e', type: 'dispatch.result', version: 1, data: '{}', createdAt })).toEqual({ type: 'dispatch.result', fields: { id: 'e', v: '1', at: String(createdAt.getTime()), data: '{}' } });
  });
});
