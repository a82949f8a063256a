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

  it('routes with the remembered list while the database cannot be reached', async () => {
    const away = createDatabase('postgresql://postgres@127.0.0.1:1/none', { poolSize: 1, connectionTimeoutMs: 500 });
    const directory = new DownloaderDirectory(away, silentLogger());
    directory.remember([nas], Date.now() - 60_000);
    expect(await directory.list()).toEqual([nas]);
    expect(await directory.lookup('nas')).toEqual({ host: '10.0.0.1', port: 7001 });
    await away.$disconnect();
  });
});
