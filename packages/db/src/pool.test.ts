import { execFileSync } from 'node:child_process';
import { UnavailableError } from '@dwld/errors';
import { createTestDatabase, CuttableProxy, waitFor, type TestDatabase } from '@dwld/testkit';
import { connectDatabase, isDatabaseReachable, isDatabaseUnavailable, Prisma, type DatabaseAccess } from './index';

/** What a ReachabilityLogger was told, in order. */
function recordingLogger() {
  const lines: Array<{ level: 'warn' | 'info'; message: string; meta?: Record<string, unknown> }> = [];
  return {
    lines,
    messages: () => lines.map((l) => l.message),
    warn: (message: string, meta?: Record<string, unknown>) => lines.push({ level: 'warn', message, meta }),
    info: (message: string, meta?: Record<string, unknown>) => lines.push({ level: 'info', message, meta }),
  };
}

describe('the pool under a misbehaving network (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  const opened: DatabaseAccess[] = [];
  const open = (url: string, options: Parameters<typeof connectDatabase>[1]) => {
    const access = connectDatabase(url, options);
    opened.push(access);
    return access;
  };

  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((a) => a.db.$disconnect()));
  });
  afterAll(async () => {
    await testDb.drop();
  });

  it('gives every connection the server-side timeouts and keepalive it was configured with', async () => {
    const { sql } = open(testDb.url, { poolSize: 1, statementTimeoutMs: 1_234, idleInTransactionTimeoutMs: 4_000, keepAliveMs: 7_000 });
    const [row] = await sql.rows<Record<string, string>>(Prisma.sql`
      SELECT current_setting('statement_timeout') AS statement, current_setting('idle_in_transaction_session_timeout') AS idle,
             current_setting('tcp_keepalives_idle') AS "keepIdle", current_setting('tcp_keepalives_count') AS "keepCount"`);
    expect(row).toEqual({ statement: '1234ms', idle: '4s', keepIdle: '7', keepCount: '3' });
  });

  it('keeps the server defaults for a timeout set to 0', async () => {
    const { sql } = open(testDb.url, { poolSize: 1, statementTimeoutMs: 0, idleInTransactionTimeoutMs: 0 });
    const [row] = await sql.rows<Record<string, string>>(Prisma.sql`
      SELECT current_setting('statement_timeout') AS statement, current_setting('idle_in_transaction_session_timeout') AS idle`);
    expect(row).toEqual({ statement: '0', idle: '0' });
  });

  it('turns on TCP keepalive on its own sockets', async () => {
    const { sql } = open(testDb.url, { poolSize: 1, keepAliveMs: 9_000 });
    // The server says which port this connection comes from; the kernel shows that socket's keepalive timer.
    const [{ port }] = (await sql.rows<{ port: number }>(Prisma.sql`SELECT inet_client_port() AS port`)) as [{ port: number }];
    const sockets = execFileSync('ss', ['-tnoH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
    expect(sockets).toContain('timer:(keepalive');
  });

  it('lets the server cancel a statement past its timeout, reported as unavailable (to be tried again)', async () => {
    const { sql } = open(testDb.url, { poolSize: 1, statementTimeoutMs: 100 });
    const err = await sql.rows(Prisma.sql`SELECT pg_sleep(5)`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).cause).toMatchObject({ code: '57014' });
    expect(isDatabaseUnavailable(err)).toBe(true);
    expect(await sql.rows(Prisma.sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
  });

  it('gets its connection back when the server ends it under a transaction', async () => {
    const { db, sql } = open(testDb.url, { poolSize: 1, connectionTimeoutMs: 2_000 });
    const { sql: admin } = open(testDb.url, { poolSize: 1 });
    const failed = await db
      .$transaction(async (tx) => {
        const [{ pid }] = (await tx.$queryRaw<Array<{ pid: number }>>`SELECT pg_backend_pid() AS pid`) as [{ pid: number }];
        await admin.rows(Prisma.sql`SELECT pg_terminate_backend(${pid}::int)`);
        await tx.$queryRaw`SELECT 1`;
      })
      .catch((e: unknown) => e);
    expect(isDatabaseUnavailable(failed)).toBe(true);
    // Its ROLLBACK failed, so Prisma never gave the connection back: the pool's one slot is free all the same.
    expect(await sql.rows(Prisma.sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
  });

  describe('behind a proxy that holds bytes (a silent partition)', () => {
    let proxy: CuttableProxy;

    beforeEach(async () => {
      proxy = await CuttableProxy.start({ host: '127.0.0.1', port: Number(new URL(testDb.url).port || 5432) });
    });
    afterEach(async () => {
      proxy.release();
      await Promise.all(opened.splice(0).map((a) => a.db.$disconnect()));
      await proxy.down();
    });

    it('gives up on each query by its own timeout, says so once, and works again by itself when the network returns', async () => {
      const logger = recordingLogger();
      const { db, sql } = open(proxy.urlFor(testDb.url), { poolSize: 3, queryTimeoutMs: 400, connectionTimeoutMs: 400, logger });
      await sql.rows(Prisma.sql`SELECT 1 AS one`);
      expect(await isDatabaseReachable(db, 500)).toBe(true);

      proxy.hold();
      // Raw statements, Prisma's queries and a transaction: each fails as unavailable instead of hanging.
      const raw = await sql.rows(Prisma.sql`SELECT 1 AS one`).catch((e: unknown) => e);
      expect(raw).toBeInstanceOf(UnavailableError);
      expect((raw as UnavailableError).message).toBe('Query read timeout');
      expect(isDatabaseUnavailable(await db.setting.findMany().catch((e: unknown) => e))).toBe(true);
      expect(isDatabaseUnavailable(await sql.rowsWithSettings('SET LOCAL enable_sort = off', Prisma.sql`SELECT 1`).catch((e: unknown) => e))).toBe(true);
      expect(isDatabaseUnavailable(await db.$transaction(async (tx) => tx.$queryRaw`SELECT 1`).catch((e: unknown) => e))).toBe(true);
      // New connections are held too: they fail by the connect timeout.
      expect(isDatabaseUnavailable(await Promise.all([1, 2, 3, 4].map(() => sql.rows(Prisma.sql`SELECT 1`))).catch((e: unknown) => e))).toBe(true);
      expect(await isDatabaseReachable(db, 300)).toBe(false);
      expect(logger.lines).toEqual([{ level: 'warn', message: 'database unreachable', meta: { error: expect.any(String) } }]);

      proxy.release();
      await waitFor(() => isDatabaseReachable(db, 500), { what: 'the database reachable again' });
      // Every connection that timed out was dropped: the pool serves from fresh ones, all of them at once.
      expect(await Promise.all([1, 2, 3].map((n) => sql.rows<{ n: number }>(Prisma.sql`SELECT ${n}::int AS n`)))).toEqual([[{ n: 1 }], [{ n: 2 }], [{ n: 3 }]]);
      expect(await db.setting.count()).toBeGreaterThanOrEqual(0);
      expect(logger.messages()).toEqual(['database unreachable', 'database reachable again']);
    });

    it('drops a connection whose query timed out, even one a transaction hands back as if it were fine', async () => {
      const { db, sql } = open(proxy.urlFor(testDb.url), { poolSize: 1, queryTimeoutMs: 300, connectionTimeoutMs: 2_000 });
      await sql.rows(Prisma.sql`SELECT 1`);
      expect(proxy.openClients).toBe(1);
      // The network goes silent inside a transaction. Prisma's adapter hands a transaction's
      // connection back to the pool without an error, whatever happened on it.
      const failed = await db
        .$transaction(async (tx) => {
          await tx.$queryRaw`SELECT 1`;
          proxy.hold();
          await tx.$queryRaw`SELECT 2`;
        })
        .catch((e: unknown) => e);
      expect(isDatabaseUnavailable(failed)).toBe(true);
      // Closed, not lent out again with its query still waiting for an answer.
      await waitFor(() => proxy.openClients === 0, { what: 'the timed-out connection closed' });
      proxy.release();
      expect(await sql.rows(Prisma.sql`SELECT 2 AS two`)).toEqual([{ two: 2 }]);
    });

    it('answers the readiness check within its own timeout, however long the query timeout', async () => {
      const { db, sql } = open(proxy.urlFor(testDb.url), { poolSize: 2, queryTimeoutMs: 60_000, connectionTimeoutMs: 60_000 });
      await sql.rows(Prisma.sql`SELECT 1`);
      proxy.hold();
      const busy = sql.rows(Prisma.sql`SELECT 1`).catch((e: unknown) => e);
      // Resolves false (with a 60 s query timeout and a pool to wait for, a check without its own would hang past the test's timeout).
      expect(await isDatabaseReachable(db, 300)).toBe(false);
      proxy.release();
      await waitFor(() => isDatabaseReachable(db, 500), { what: 'the database reachable again' });
      expect(await busy).toEqual([{ '?column?': 1 }]);
    });
  });
});
