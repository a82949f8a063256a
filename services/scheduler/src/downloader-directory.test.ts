import { connectDatabase, Prisma, type Database, type Sql } from '@dwld/db';
import type { DownloaderChanged } from '@dwld/events';
import { silentLogger } from '@dwld/logger';
import { createTestDatabase, waitFor, type TestDatabase } from '@dwld/testkit';
import { DownloaderDirectory, ROUTES_VERSION } from './downloader-directory';
import { SchedulerMetrics } from './metrics';

describe('DownloaderDirectory (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  let db: Database;
  let sql: Sql;
  let clock: number;
  let metrics: SchedulerMetrics;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    ({ db, sql } = connectDatabase(testDb.url, { poolSize: 2 }));
  });
  afterAll(async () => {
    await db.$disconnect();
    await testDb.drop();
  });
  beforeEach(async () => {
    await db.downloader.deleteMany();
    clock = 1_000_000;
    metrics = new SchedulerMetrics(async () => 0);
  });

  const directoryOn = (database: { db: Database; sql: Sql }, reloadMs = 300_000) =>
    new DownloaderDirectory(database.db, database.sql, silentLogger(), { reloadMs, metrics, now: () => clock });
  const row = (name: string, port: number, patterns = ['*']) => ({ name, host: '10.0.0.9', port, allowedPatterns: patterns, registeredAt: new Date(), lastSeenAt: new Date() });
  /** The version a claim would read now. */
  const version = async () => (await sql.rows<{ version: string }>(Prisma.sql`SELECT ${ROUTES_VERSION} AS version`))[0]!.version;
  const loads = async (reason: string) => (await metrics.routesLoads.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  const lookups = async () => (await metrics.addressLookups.get()).values[0]?.value ?? 0;
  const target = (directory: DownloaderDirectory, name: string) => {
    const t = directory.target(name);
    return typeof t === 'string' ? t : { name: t.name, port: t.address.port };
  };
  const event = (name: string, port: number, change: DownloaderChanged['change'] = 'registered'): DownloaderChanged => ({ name, host: '10.0.0.2', port, patterns: ['*'], healthy: true, change });

  it('moves the version when routing would see a change, and only then (not on a sign of life)', async () => {
    const v0 = await version();
    await db.downloader.create({ data: row('nas', 7001) });
    const v1 = await version();
    expect(v1).not.toBe(v0);
    // A re-registration as it stands and a health check that changes nothing routing reads.
    await db.downloader.update({ where: { name: 'nas' }, data: { registeredAt: new Date(), lastSeenAt: new Date(), lastHealthAt: new Date(), lastHealthOk: true, lastHealthMessage: 'ok' } });
    expect(await version()).toBe(v1);
    for (const data of [{ port: 7002 }, { host: '10.0.0.3' }, { allowedPatterns: ['vk.com'] }, { healthy: false }]) {
      const before = await version();
      await db.downloader.update({ where: { name: 'nas' }, data });
      expect(await version()).not.toBe(before);
    }
    const before = await version();
    await db.downloader.deleteMany();
    expect(await version()).not.toBe(before);
  });

  it('reads the list at start, gives calls its addresses while claims find its version, and reads it again only when the version moved', async () => {
    await db.downloader.create({ data: row('nas', 7001) });
    const directory = directoryOn({ db, sql });
    await directory.start();
    expect(await loads('start')).toBe(1);

    // Polls that find the same version: nothing read, the address from memory, no lookup.
    for (let i = 0; i < 5; i++) await directory.observe(await version(), clock);
    expect(target(directory, 'nas')).toEqual({ name: 'nas', port: 7001 });
    expect(await directory.lookup('nas')).toEqual({ host: '10.0.0.9', port: 7001 });
    expect(await directory.lookup('gone')).toBeNull();
    expect(await loads('changed')).toBe(0);
    expect(await lookups()).toBe(0);

    // A sign of life changes nothing; a move to another port is read at the next claim.
    await db.downloader.update({ where: { name: 'nas' }, data: { lastSeenAt: new Date() } });
    await directory.observe(await version(), clock);
    expect(await loads('changed')).toBe(0);
    await db.downloader.update({ where: { name: 'nas' }, data: { port: 7002 } });
    await directory.observe(await version(), clock);
    expect(await loads('changed')).toBe(1);
    expect(target(directory, 'nas')).toEqual({ name: 'nas', port: 7002 });
  });

  it('routes by what takes the host, and a downloader registered meanwhile is routed to from the next claim', async () => {
    await db.downloader.createMany({ data: [row('vk', 7001, ['vk.com']), row('any', 7002, ['*'])] });
    const directory = directoryOn({ db, sql });
    await directory.start();
    expect(directory.eligible('m.vk.com').map((d) => d.name)).toEqual(['any', 'vk']);
    expect(directory.eligible('example.com').map((d) => d.name)).toEqual(['any']);

    await db.downloader.create({ data: row('examples', 7003, ['example.com']) });
    await directory.observe(await version(), clock);
    expect(directory.eligible('example.com').map((d) => d.name)).toEqual(['any', 'examples']);
  });

  it('applies a downloader.changed event at once, over the list in memory (a re-registration on another port wins)', async () => {
    await db.downloader.create({ data: row('nas', 7001) });
    const directory = directoryOn({ db, sql });
    await directory.start();
    directory.apply(event('nas', 7005));
    expect(target(directory, 'nas')).toEqual({ name: 'nas', port: 7005 });
    directory.apply(event('new', 7006));
    expect(directory.eligible('example.com').map((d) => d.name).sort()).toEqual(['nas', 'new']);
    directory.apply(event('new', 7006, 'forgotten'));
    expect(directory.eligible('example.com').map((d) => d.name)).toEqual(['nas']);
    expect(target(directory, 'new')).toBe('new');
    expect(await loads('changed')).toBe(0);
  });

  it('once the list is not known to be current, has the adapter look each address up in the table at the call', async () => {
    await db.downloader.create({ data: row('nas', 7001) });
    const directory = directoryOn({ db, sql });
    await directory.start();
    // The row changes behind its back (no event, and no claim read the version since).
    await db.downloader.update({ where: { name: 'nas' }, data: { port: 7009 } });
    expect(target(directory, 'nas')).toEqual({ name: 'nas', port: 7001 });
    clock += 1_000;
    expect(target(directory, 'nas')).toBe('nas');
    expect(await directory.lookup('nas')).toEqual({ host: '10.0.0.9', port: 7009 });
    expect(await directory.lookup('gone')).toBeNull();
    expect(await lookups()).toBe(2);
  });

  it('reads again a few times at once when the version keeps moving, then once a second at most, looking addresses up meanwhile', async () => {
    await db.downloader.create({ data: row('nas', 7000) });
    const directory = directoryOn({ db, sql });
    await directory.start();
    for (let port = 7001; port <= 7005; port++) {
      await db.downloader.update({ where: { name: 'nas' }, data: { port } });
      await directory.observe(await version(), clock);
    }
    expect(await loads('changed')).toBe(3);
    // Held back: known not to be the table's, so the address is looked up, not taken from memory.
    expect(target(directory, 'nas')).toBe('nas');
    expect(await directory.lookup('nas')).toEqual({ host: '10.0.0.9', port: 7005 });
    clock += 1_000;
    await directory.observe(await version(), clock);
    expect(await loads('changed')).toBe(4);
    expect(target(directory, 'nas')).toEqual({ name: 'nas', port: 7005 });
  });

  it('reads the whole list again every reloadMs though its version did not move (a change nothing told of heals)', async () => {
    await db.downloader.create({ data: row('nas', 7001) });
    const directory = directoryOn({ db, sql }, 60_000);
    await directory.start();
    // A change the triggers did not see (they were off), and no event.
    await db.$executeRawUnsafe('ALTER TABLE downloaders DISABLE TRIGGER USER');
    try {
      await db.downloader.update({ where: { name: 'nas' }, data: { port: 7002 } });
    } finally {
      await db.$executeRawUnsafe('ALTER TABLE downloaders ENABLE TRIGGER USER');
    }
    clock += 59_000;
    await directory.observe(await version(), clock);
    expect(await loads('periodic')).toBe(0);
    expect(target(directory, 'nas')).toEqual({ name: 'nas', port: 7001 });
    clock += 1_000;
    await directory.observe(await version(), clock);
    await waitFor(async () => (await loads('periodic')) === 1, { what: 'the periodic read' });
    expect(target(directory, 'nas')).toEqual({ name: 'nas', port: 7002 });
  });

  it('routes with the list in memory while the database cannot be reached, and starts without it', async () => {
    const away = connectDatabase('postgresql://postgres@127.0.0.1:1/none', { poolSize: 1, connectionTimeoutMs: 500 });
    const directory = directoryOn(away);
    await directory.start();
    directory.apply(event('nas', 7001));
    clock += 60_000;
    expect((await directory.current()).map((d) => d.name)).toEqual(['nas']);
    expect(await directory.lookup('nas')).toEqual({ host: '10.0.0.2', port: 7001 });
    await expect(directory.lookup('gone')).rejects.toThrow();
    // A claim could not have run, but a failed read never reaches the poll.
    await directory.observe('42', clock);
    await away.db.$disconnect();
  });
});
