import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client';
import { Sql } from './sql';

export { PrismaClient, Prisma } from './generated/prisma/client';
export type { Link, Dispatch, Downloader, User, Setting, Role, LinkStatus, OutboxEvent } from './generated/prisma/client';
export * from './errors';
export * from './settings';
export { Sql } from './sql';
export { EventOutbox, type OutboxRow, type OutboxEntry } from './event-outbox';
export * from './shapes';

export interface DatabaseOptions {
  /** Connections in this process's pool. */
  poolSize?: number;
  /** How long a query may wait for a free connection before failing (ms). */
  connectionTimeoutMs?: number;
}

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
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
  });
  // An idle connection that breaks (the server restarted) is dropped; without a listener the
  // pool's 'error' event would end the process. The next query reports the outage.
  pool.on('error', () => {});
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  return { db: new PrismaClient({ adapter }), sql: new Sql(pool) };
}

/** The Prisma client alone (see connectDatabase). */
export function createDatabase(databaseUrl: string, options: DatabaseOptions = {}): Database {
  return connectDatabase(databaseUrl, options).db;
}

/** True when the database answers a trivial query: for /readyz. */
export async function isDatabaseReachable(db: Database): Promise<boolean> {
  try {
    await db.$queryRawUnsafe('SELECT 1');
    return true;
  } catch {
    return false;
  }
}
