import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import { PrismaClient } from './generated/prisma/client';
import { createPool, type DatabaseOptions } from './pool';
import { Sql } from './sql';

export { PrismaClient, Prisma } from './generated/prisma/client';
export type { Link, Dispatch, Downloader, User, Setting, Role, LinkStatus, OutboxEvent } from './generated/prisma/client';
export * from './errors';
export * from './settings';
export { Sql } from './sql';
export { DATABASE_DEFAULTS, type DatabaseOptions, type ReachabilityLogger } from './pool';
export { EventOutbox, type OutboxRow, type OutboxEntry } from './event-outbox';
export * from './shapes';

export type Database = PrismaClient;

/** One connection pool, two ways in: the Prisma client, and raw statements for hot paths. */
export interface DatabaseAccess {
  db: Database;
  sql: Sql;
}

/**
 * The Prisma client over node-postgres (@prisma/adapter-pg): no native query engine. Its pool
 * also serves `sql`; `db.$disconnect()` closes it. One per process, built in the composition
 * root and passed in.
 */
export function connectDatabase(databaseUrl: string, options: DatabaseOptions = {}): DatabaseAccess {
  const pool = createPool(databaseUrl, options);
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  const db = new PrismaClient({ adapter });
  pools.set(db, pool);
  return { db, sql: new Sql(pool) };
}

/** Each client's pool, for the readiness check (a query of its own, with its own timeout). */
const pools = new WeakMap<Database, pg.Pool>();

/** The Prisma client alone (see connectDatabase). */
export function createDatabase(databaseUrl: string, options: DatabaseOptions = {}): Database {
  return connectDatabase(databaseUrl, options).db;
}

/**
 * True when the database answers a trivial query within `timeoutMs` (waiting for a connection
 * included): for /readyz, which must turn false within seconds of a silent partition, not
 * after the pool's longer query timeout. A query that times out takes its connection with it.
 */
export async function isDatabaseReachable(db: Database, timeoutMs = 2_000): Promise<boolean> {
  const pool = pools.get(db);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  const asked = (pool ? pool.query({ text: 'SELECT 1', query_timeout: timeoutMs } as pg.QueryConfig) : db.$queryRawUnsafe('SELECT 1')).then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([asked, late]);
  } finally {
    clearTimeout(timer);
  }
}
