import { UnavailableError } from '@dwld/errors';
import { createTestDatabase, type TestDatabase } from '@dwld/testkit';
import { connectDatabase, createDatabase, isDatabaseReachable, isDatabaseUnavailable, isDispatchPaused, isUniqueViolation, Prisma, readDispatchPause, setDispatchPaused, type Database } from './index';

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

  it('flips the dispatch pause once, remembering since when and by whom', async () => {
    expect(await readDispatchPause(db)).toEqual({ paused: false, since: null, by: null });
    expect(await setDispatchPaused(db, true, { id: '100', name: '@admin' })).toBe(true);
    const paused = await readDispatchPause(db);
    expect(paused).toMatchObject({ paused: true, by: { id: '100', name: '@admin' } });
    expect(await isDispatchPaused(db)).toBe(true);
    // Pausing again is no flip: the moment it was paused stays, and so does who did it.
    expect(await setDispatchPaused(db, true, { id: '101', name: null })).toBe(false);
    expect(await readDispatchPause(db)).toEqual(paused);
    expect(await setDispatchPaused(db, false)).toBe(true);
    const resumed = await readDispatchPause(db);
    expect(resumed.paused).toBe(false);
    expect(resumed.since!.getTime()).toBeGreaterThanOrEqual(paused.since!.getTime());
    expect(await isDispatchPaused(db)).toBe(false);
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

  describe('raw statements on the same pool (sql)', () => {
    it('binds values as parameters and reads rows as node-postgres types', async () => {
      const { db: own, sql } = connectDatabase(testDb.url, { poolSize: 2 });
      try {
        const sneaky = "x'); DROP TABLE links; --";
        const rows = await sql.rows<{ n: number; s: string; ids: number[] }>(Prisma.sql`SELECT ${41}::int + 1 AS n, ${sneaky}::text AS s, ${[1, 2]}::int[] AS ids`);
        expect(rows).toEqual([{ n: 42, s: sneaky, ids: [1, 2] }]);
        expect(await own.link.count()).toBeGreaterThanOrEqual(0); // the table is still there, and Prisma shares the pool
      } finally {
        await own.$disconnect();
      }
    });

    it('applies settings to its own transaction only, and rolls back a failed statement', async () => {
      const { db: own, sql } = connectDatabase(testDb.url, { poolSize: 1 });
      try {
        const inside = await sql.rowsWithSettings<{ v: string }>('SET LOCAL enable_sort = off', Prisma.sql`SELECT current_setting('enable_sort') AS v`);
        expect(inside).toEqual([{ v: 'off' }]);
        // One connection in the pool: the next statement runs on the same one, with the setting gone.
        expect(await sql.rows(Prisma.sql`SELECT current_setting('enable_sort') AS v`)).toEqual([{ v: 'on' }]);

        const url = `https://example.com/rolled-back-${Date.now()}`;
        const failing = Prisma.sql`WITH added AS (
            INSERT INTO links (url, host, chat_id, user_id, quality, send_at, updated_at)
            VALUES (${url}, 'example.com', 1, 1, 'max', now(), now()) RETURNING id)
          SELECT 1 / (count(*) - 1) FROM added`;
        const err = await sql.rowsWithSettings('SET LOCAL enable_sort = off', failing).catch((e: unknown) => e);
        expect((err as { code?: string }).code).toBe('22012'); // division by zero
        expect(await own.link.count({ where: { url } })).toBe(0);
        expect(await sql.rows(Prisma.sql`SELECT 1 AS ok`)).toEqual([{ ok: 1 }]);
      } finally {
        await own.$disconnect();
      }
    });

    it('reports a dead database as unavailable', async () => {
      const { db: dead, sql } = connectDatabase('postgresql://postgres@127.0.0.1:1/none', { connectionTimeoutMs: 500 });
      const err = await sql.rowsWithSettings('SET LOCAL enable_sort = off', Prisma.sql`SELECT 1`).catch((e: unknown) => e);
      expect(isDatabaseUnavailable(err)).toBe(true);
      expect(isDatabaseUnavailable(await sql.rows(Prisma.sql`SELECT 1`).catch((e: unknown) => e))).toBe(true);
      // Said in the project's vocabulary, node-postgres's error kept as the cause.
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as UnavailableError).cause).toMatchObject({ code: 'ECONNREFUSED' });
      expect((err as UnavailableError).message).toBe('connect ECONNREFUSED 127.0.0.1:1');
      // Prisma's raw statements on the same dead pool.
      expect(isDatabaseUnavailable(await dead.$queryRaw`SELECT 1`.catch((e: unknown) => e))).toBe(true);
      await dead.$disconnect();
    });

    it('reports a connection the server ended, or none free in time, as unavailable', async () => {
      const { db: own, sql } = connectDatabase(testDb.url, { poolSize: 1, connectionTimeoutMs: 200 });
      try {
        const ended = await sql.rows(Prisma.sql`SELECT pg_terminate_backend(pg_backend_pid())`).catch((e: unknown) => e);
        expect(ended).toBeInstanceOf(UnavailableError);
        expect((ended as UnavailableError).cause).toMatchObject({ code: '57P01' });
        expect(isDatabaseUnavailable(await own.$queryRaw`SELECT pg_terminate_backend(pg_backend_pid())`.catch((e: unknown) => e))).toBe(true);

        const holding = sql.rows(Prisma.sql`SELECT pg_sleep(0.6)`);
        const waited = await sql.rows(Prisma.sql`SELECT 1`).catch((e: unknown) => e);
        expect(waited).toBeInstanceOf(UnavailableError);
        expect(isDatabaseUnavailable(waited)).toBe(true);
        await holding;
      } finally {
        await own.$disconnect();
      }
    });
  });
});
