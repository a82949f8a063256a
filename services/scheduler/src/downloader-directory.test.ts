import { createDatabase, type Database } from '@dwld/db';
import { silentLogger } from '@dwld/logger';
import { createTestDatabase, type TestDatabase } from '@dwld/testkit';
import { DownloaderDirectory } from './downloader-directory';

describe('DownloaderDirectory (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = createDatabase(testDb.url, { poolSize: 2 });
  });
  afterAll(async () => {
    await db.$disconnect();
    await testDb.drop();
  });

  const nas = { name: 'nas', host: '10.0.0.1', port: 7001, patterns: ['*'], healthy: true };

  it('gives a call right after a read the address of that read, and a later call the one in the table', async () => {
    await db.downloader.create({ data: { name: 'nas', host: '10.0.0.9', port: 7009, allowedPatterns: ['*'], registeredAt: new Date(), lastSeenAt: new Date() } });
    const directory = new DownloaderDirectory(db, silentLogger());

    directory.remember([nas], Date.now());
    expect(await directory.lookup('nas')).toEqual({ host: '10.0.0.1', port: 7001 });
    expect(await directory.lookup('gone')).toBeNull();

    // The read is old: the table decides.
    directory.remember([nas], Date.now() - 60_000);
    expect(await directory.lookup('nas')).toEqual({ host: '10.0.0.9', port: 7009 });
    expect(await directory.lookup('gone')).toBeNull();
  });

  it('gives the dispatcher the address of a read under a second old with the name, an event since winning at once, else the name alone', async () => {
    const row = { host: '10.0.0.9', port: 7009, allowedPatterns: ['*'], registeredAt: new Date(), lastSeenAt: new Date() };
    await db.downloader.upsert({ where: { name: 'nas' }, create: { name: 'nas', ...row }, update: row });
    const directory = new DownloaderDirectory(db, silentLogger());
    const target = (name: string) => {
      const t = directory.target(name);
      return typeof t === 'string' ? t : { name: t.name, host: t.address.host, port: t.address.port };
    };

    directory.remember([nas], Date.now());
    expect(target('nas')).toEqual({ name: 'nas', host: '10.0.0.1', port: 7001 });
    // Not in the read: its name, which the lookup finds not registered (from the same read, no query).
    expect(target('gone')).toBe('gone');
    expect(await directory.lookup('gone')).toBeNull();

    // It registers again from another address: the event wins over the read at once.
    directory.apply({ ...nas, host: '10.0.0.2', port: 7002, change: 'registered' });
    expect(target('nas')).toEqual({ name: 'nas', host: '10.0.0.2', port: 7002 });

    // The read is old: the name alone, which the lookup reads from the table.
    directory.remember([nas], Date.now() - 60_000);
    expect(target('nas')).toBe('nas');
    expect(await directory.lookup('nas')).toEqual({ host: '10.0.0.9', port: 7009 });
  });

  it('routes with the remembered list while the database cannot be reached', async () => {
    const away = createDatabase('postgresql://postgres@127.0.0.1:1/none', { poolSize: 1, connectionTimeoutMs: 500 });
    const directory = new DownloaderDirectory(away, silentLogger());
    directory.remember([nas], Date.now() - 60_000);
    expect(await directory.list()).toEqual([nas]);
    expect(await directory.lookup('nas')).toEqual({ host: '10.0.0.1', port: 7001 });
    await away.$disconnect();
  });
});
