import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client';

export { PrismaClient, Prisma } from './generated/prisma/client';
export type { Link, Dispatch, Downloader, User, Setting, Role, LinkStatus } from './generated/prisma/client';
export * from './errors';
export * from './settings';

export interface DatabaseOptions {
  /** Connections in this process's pool. */
  poolSize?: number;
  /** How long a query may wait for a free connection before failing (ms). */
  connectionTimeoutMs?: number;
}

export type Database = PrismaClient;

/**
 * The Prisma client over node-postgres (@prisma/adapter-pg): no native query engine.
 * One per process, built in the composition root and passed in.
 */
export function createDatabase(databaseUrl: string, options: DatabaseOptions = {}): Database {
  const adapter = new PrismaPg({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
  });
  return new PrismaClient({ adapter });
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
