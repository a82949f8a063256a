import { connectDatabase, Prisma, type Database, type DatabaseAccess } from '@dwld/db';
import { downloaderChanged, EventPublisher } from '@dwld/events';
import { silentLogger } from '@dwld/logger';
import { createRedisNamespace, createTestDatabase, waitFor, type RedisNamespace, type TestDatabase } from '@dwld/testkit';
import { SchedulerApp } from './app';
import { parseSchedulerConfig } from './config';
import { FakeDownloader, register } from './testing/harness';

// The routing list lives in the scheduler's memory: what a poll reads of the downloaders table
// is counted by PostgreSQL itself (pg_stat_user_tables), not by the scheduler's own word.

/** Junk registrations, written straight into the table: `count` downloaders of 256 long patterns each, none taking example.com. */
function insertJunk(access: DatabaseAccess, count: number) {
  return access.sql.rows(Prisma.sql`
    INSERT INTO downloaders (name, host, port, allowed_patterns, registered_at, last_seen_at, updated_at)
    SELECT 'junk-' || i, '127.0.0.1', 1,
           ARRAY(SELECT 'junk-' || i || '-' || j || '-' || repeat('x', 80) || '.invalid' FROM generate_series(1, 256) AS j),
           now(), now(), now()
      FROM generate_series(1, ${count}::int) AS i`);
}

describe('routing list in memory (real PostgreSQL, Redis and gRPC downloaders)', () => {
  let database: TestDatabase;
  let redisNs: RedisNamespace;
  let access: DatabaseAccess;
  let db: Database;
  const apps: SchedulerApp[] = [];
  const downloaders: FakeDownloader[] = [];

  beforeAll(async () => {
    [database, redisNs] = await Promise.all([createTestDatabase(), createRedisNamespace('routing')]);
    access = connectDatabase(database.url, { poolSize: 4 });
    db = access.db;
  });
  afterAll(async () => {
    await db.$disconnect();
    await Promise.all([database.drop(), redisNs.cleanup()]);
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
    await Promise.all(downloaders.splice(0).map((d) => d.stop()));
    await db.link.deleteMany();
    await db.dispatch.deleteMany();
    await db.downloader.deleteMany();
  });

  /** A pool whose connections PostgreSQL shows under `name` (pg_stat_activity.application_name). */
  const named = (name: string) => connectDatabase(`${database.url}?application_name=${name}`, { poolSize: 4 });

  /** Closes a named pool and waits for its backends to end: their table statistics are flushed by then. */
  async function closeAndFlush(pool: DatabaseAccess, name: string) {
    await pool.db.$disconnect();
    await waitFor(async () => {
      const [row] = await access.sql.rows<{ left: number }>(Prisma.sql`
        SELECT count(*)::int AS left FROM pg_stat_activity WHERE datname = current_database() AND application_name = ${name}`);
      return row!.left === 0;
    }, { what: `the backends of ${name} to end` });
  }

  /** Scans of the downloaders table since the database was made, as PostgreSQL counted them. */
  async function downloaderScans() {
    const [row] = await access.sql.rows<{ seq: string; idx: string; rows: string }>(Prisma.sql`
      SELECT seq_scan::text AS seq, COALESCE(idx_scan, 0)::text AS idx, seq_tup_read::text AS rows
        FROM pg_stat_user_tables WHERE relname = 'downloaders'`);
    return { seq: Number(row!.seq), idx: Number(row!.idx), rows: Number(row!.rows) };
  }

  async function startApp(database_: DatabaseAccess, env: Record<string, string> = {}) {
    const config = parseSchedulerConfig({
      DATABASE_URL: database.url,
      REDIS_URL: redisNs.url,
      STREAM_PREFIX: redisNs.prefix,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      SCHEDULER_INTERVAL_S: '0.05',
      CLAIM_LEASE_S: '10',
      DOWNLOADER_DEADLINE_S: '2',
      // A link no downloader took would wait 30-60 s: a test waiting for it fails instead.
      RETRY_BASE_S: '60',
      ...env,
    });
    const app = new SchedulerApp({ config, ...database_, redis: redisNs.redis, logger: silentLogger() });
    apps.push(app);
    await app.start();
    return app;
  }

  async function addLinks(prefix: string, count: number) {
    const links = Array.from({ length: count }, (_, i) => `https://example.com/${prefix}/${i}`);
    await db.link.createMany({
      data: links.map((url, i) => ({ url, host: 'example.com', chatId: 100n + BigInt(i), userId: 200n + BigInt(i), quality: '720', sendAt: new Date(Date.now() - 1000) })),
    });
    return links;
  }

  const allGone = async () => (await db.link.count()) === 0;
  const counter = async (app: SchedulerApp, metric: 'routesLoads' | 'addressLookups') => (await app.metrics[metric].get()).values.reduce((sum, v) => sum + v.value, 0);

  it('polls and dispatches without reading the downloaders table, however big: it is read once, at start', async () => {
    // Written and flushed before the count starts: only the scheduler's reads are counted below.
    const nas = await FakeDownloader.start('nas');
    downloaders.push(nas);
    const setup = named('routing-setup');
    await insertJunk(setup, 300);
    await register(setup.db, nas, ['example.com']);
    await closeAndFlush(setup, 'routing-setup');
    const before = await downloaderScans();

    const scheduler = named('scheduler-under-test');
    const app = await startApp(scheduler);
    const firstPolls = app.scheduler.polls;
    const links = await addLinks('quiet', 20);
    await waitFor(allGone, { what: 'every link dispatched' });
    await waitFor(() => app.scheduler.polls >= firstPolls + 40, { what: '40 polls' });
    const [loads, lookups, polls] = [await counter(app, 'routesLoads'), await counter(app, 'addressLookups'), app.scheduler.polls - firstPolls];
    await app.stop();
    await closeAndFlush(scheduler, 'scheduler-under-test');
    const after = await downloaderScans();

    expect(nas.links().sort()).toEqual([...links].sort());
    expect(polls).toBeGreaterThanOrEqual(40);
    // One read of the whole table (301 rows, at start) for 40 and more polls: before, each poll's claim read it.
    expect(loads).toBe(1);
    expect(after.seq - before.seq).toBe(1);
    expect(after.rows - before.rows).toBe(301);
    // Addresses came from memory: a lookup is the only other read, and each is counted.
    expect(after.idx - before.idx).toBeLessThanOrEqual(lookups);
  });

  it('routes to a downloader registered while it runs from the next claim on (the claim sees the version move, no event needed)', async () => {
    const app = await startApp(access);
    await waitFor(() => app.scheduler.polls >= 3, { what: 'a few polls with no downloader' });
    const nas = await FakeDownloader.start('nas');
    downloaders.push(nas);
    await register(db, nas, ['example.com']);
    const links = await addLinks('new', 5);
    await waitFor(allGone, { what: 'the links dispatched to the new downloader' });
    expect(nas.links().sort()).toEqual([...links].sort());
    expect(await db.link.count({ where: { attempts: { gt: 0 } } })).toBe(0);
    expect((await app.metrics.routesLoads.get()).values.find((v) => v.labels.reason === 'changed')?.value).toBe(1);
  });

  it('follows downloader.changed at once: a downloader announced on the stream is called where the event says, with no read of the table', async () => {
    const app = await startApp(access);
    const loadsBefore = await counter(app, 'routesLoads');
    const nas = await FakeDownloader.start('nas');
    downloaders.push(nas);
    // Announced, not (yet) in the table: only the event can have told the scheduler.
    await new EventPublisher({ redis: redisNs.redis, prefix: redisNs.prefix }).publish(downloaderChanged, {
      name: 'nas', host: '127.0.0.1', port: nas.port, patterns: ['example.com'], healthy: true, change: 'registered',
    });
    await waitFor(() => app.directory.eligible('example.com').length === 1, { what: 'the event applied' });
    const links = await addLinks('event', 3);
    await waitFor(allGone, { what: 'the links dispatched to the announced downloader' });
    expect(nas.links().sort()).toEqual([...links].sort());
    expect(await counter(app, 'routesLoads')).toBe(loadsBefore);
  });
});
