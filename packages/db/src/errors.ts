import { AppError, errorMessage, UnavailableError } from '@dwld/errors';

/** Node's socket errors on the way to the server: nothing listens, the host is unknown, the line broke. */
const SOCKET_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

/**
 * PostgreSQL's SQLSTATEs for a server that is away or ended the session: class 08 (connection
 * exception), class 57 (57P01 admin shutdown, 57P02 crash, 57P03 starting up or shutting down,
 * 57P04 database dropped, 57P05 idle-session timeout) and 25P03 (idle-in-transaction timeout:
 * the connection is closed, a new one works) and 57014 (statement_timeout, or a cancel: the
 * server is too slow for now, the statement may be tried again).
 */
const SERVER_CODES: ReadonlySet<string> = new Set(['08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03', '57P04', '57P05', '25P03', '57014']);

/** Prisma's: P1001 can't reach, P1002 timed out, P1008 operation timed out, P1017 server closed the connection, P2024 pool timeout. */
const PRISMA_CODES: ReadonlySet<string> = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/** @prisma/adapter-pg's names for the socket errors above (a DriverAdapterError's `cause.kind`). */
const ADAPTER_KINDS: ReadonlySet<string> = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout']);

/**
 * Only for errors that carry no code. node-postgres reports a connection that died, or never
 * came, with a bare Error ("Connection terminated unexpectedly", "Connection terminated due to
 * connection timeout", "timeout exceeded when trying to connect", "Client has encountered a
 * connection error and is not queryable", "Query read timeout" when no answer came within the
 * query timeout, "Client was closed…" for a statement sent after that), and Prisma's adapter passes those on as they are:
 * their message is all there is. The rest are the coded errors' messages, for one that lost
 * its code on the way (re-thrown as a new Error by some layer).
 */
const UNCODED_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|connection error and is not queryable|Query read timeout|Client was closed and is not queryable|ECONNREFUSED|ECONNRESET|terminating connection|the database system is (starting up|shutting down)|Can't reach database/i;

/**
 * Whether an error from the database (the Prisma client, `Sql`, or an AppError of kind
 * 'unavailable' such as `Sql` throws) means the database could not be reached, as opposed to a
 * constraint or a bad query: callers fall back or retry on these. Codes decide first.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  return unavailable(err, 0);
}

function unavailable(err: unknown, depth: number): boolean {
  if (!err || typeof err !== 'object' || depth > 8) return false;
  if (err instanceof AppError) return err.kind === 'unavailable';
  const e = err as { code?: unknown; kind?: unknown; name?: unknown; message?: unknown; cause?: unknown; meta?: { driverAdapterError?: unknown } };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code !== undefined && (SOCKET_CODES.has(code) || SERVER_CODES.has(code) || PRISMA_CODES.has(code))) return true;
  if (typeof e.kind === 'string' && ADAPTER_KINDS.has(e.kind)) return true;
  if (e.name === 'PrismaClientInitializationError') return true;
  // Prisma's raw queries (P2010) keep the driver's error here: its cause holds the kind or SQLSTATE.
  if (e.meta?.driverAdapterError !== undefined && unavailable(e.meta.driverAdapterError, depth + 1)) return true;
  if (code === undefined && typeof e.message === 'string' && UNCODED_MESSAGES.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== err ? unavailable(e.cause, depth + 1) : false;
}

/**
 * The database edge's error for an unreachable database: an UnavailableError carrying the
 * driver's error as its cause (and its message, which logs and tools already show), or the
 * error itself when it means something else.
 */
export function asDatabaseError(err: unknown): unknown {
  if (err instanceof AppError || !isDatabaseUnavailable(err)) return err;
  return new UnavailableError(errorMessage(err), { cause: err });
}

/** A unique-constraint violation (Prisma P2002, PostgreSQL 23505). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.code === 'P2002' || e.code === '23505') return true;
  return e.cause !== undefined && e.cause !== err ? isUniqueViolation(e.cause) : false;
}
