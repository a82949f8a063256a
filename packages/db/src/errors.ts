/**
 * Whether an error thrown by the Prisma client means the database could not be reached
 * (as opposed to a constraint or a bad query): callers fall back or retry on these.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  // P1001 can't reach, P1002 timed out, P1017 server closed the connection, P2024 pool timeout.
  if (['P1001', 'P1002', 'P1008', 'P1017', 'P2024'].includes(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P03'].includes(code)) return true;
  if (e.name === 'PrismaClientInitializationError') return true;
  const message = typeof e.message === 'string' ? e.message : '';
  if (/ECONNREFUSED|ECONNRESET|Connection terminated|connection timeout|timeout exceeded when trying to connect|terminating connection|the database system is (starting up|shutting down)|Can't reach database/i.test(message)) {
    return true;
  }
  return e.cause !== undefined && e.cause !== err ? isDatabaseUnavailable(e.cause) : false;
}

/** A unique-constraint violation (Prisma P2002, PostgreSQL 23505). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.code === 'P2002' || e.code === '23505') return true;
  return e.cause !== undefined && e.cause !== err ? isUniqueViolation(e.cause) : false;
}
