import { createTestDatabase, type TestDatabase } from '@dwld/testkit';
import { createDatabase, isDatabaseReachable, isDatabaseUnavailable, isUniqueViolation, type Database } from './index';

describe('database (real PostgreSQL, migrated schema)', () => {
  let testDb: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = createDatabase(testDb.url);
  });
  afterAll(async () => {
    await db.$disconnect();
    await testDb.drop();
  });

  it('has the migrated tables and round-trips a link with big Telegram ids', async () => {
    const chatId = 9_007_199_254_740_993n; // beyond 2^53: must not lose precision
    const link = await db.link.create({
      data: { url: 'https://www.youtube.com/watch?v=x', host: 'www.youtube.com', chatId, userId: chatId, quality: '720', sendAt: new Date() },
    });
    const read = await db.link.findUniqueOrThrow({ where: { id: link.id } });
    expect(read.chatId).toBe(chatId);
    expect(read.status).toBe('queued');
    expect(read.attempts).toBe(0);
  });

  it('refuses the same link twice for one user, and reports it as a unique violation', async () => {
    const data = { url: 'https://example.com/a', host: 'example.com', chatId: 1n, userId: 1n, quality: 'max', sendAt: new Date() };
    await db.link.create({ data });
    const err = await db.link.create({ data }).catch((e: unknown) => e);
    expect(isUniqueViolation(err)).toBe(true);
    expect(isDatabaseUnavailable(err)).toBe(false);
    // another user may queue the same link
    await expect(db.link.create({ data: { ...data, userId: 2n } })).resolves.toMatchObject({ userId: 2n });
  });

  it('stores downloaders with their pattern arrays', async () => {
    const now = new Date();
    await db.downloader.create({
      data: { name: 'nas', host: '10.0.0.5', port: 50051, allowedPatterns: ['youtube.com', '*'], registeredAt: now, lastSeenAt: now },
    });
    const read = await db.downloader.findUniqueOrThrow({ where: { name: 'nas' } });
    expect(read.allowedPatterns).toEqual(['youtube.com', '*']);
    expect(read.healthy).toBe(true);
  });

  it('says reachable for a live database and unavailable for a dead one', async () => {
    expect(await isDatabaseReachable(db)).toBe(true);
    // A port where nothing listens.
    const dead = createDatabase('postgresql://postgres@127.0.0.1:1/none', { connectionTimeoutMs: 500 });
    expect(await isDatabaseReachable(dead)).toBe(false);
    const err = await dead.user.findMany().catch((e: unknown) => e);
    expect(isDatabaseUnavailable(err)).toBe(true);
    await dead.$disconnect();
  });
});
