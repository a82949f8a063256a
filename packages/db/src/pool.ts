import pg from 'pg';
import { errorMessage } from '@dwld/errors';
import { isDatabaseUnavailable } from './errors';

export interface DatabaseOptions {
  /** Connections in this process's pool. */
  poolSize?: number;
  /** How long opening a connection, or waiting for a free one, may take before failing (ms). */
  connectionTimeoutMs?: number;
  /** The server cancels a statement running longer (statement_timeout, ms; 0: none). */
  statementTimeoutMs?: number;
  /**
   * The client gives up waiting for an answer after this long (ms; 0: never) and drops the
   * connection. The statement timeout is the server's: it does nothing while packets are held
   * on the way (a silent partition); this one does.
   */
  queryTimeoutMs?: number;
  /** The server ends a session idle inside a transaction this long, freeing its locks (ms; 0: never). */
  idleInTransactionTimeoutMs?: number;
  /**
   * TCP keepalive after this much quiet (ms; 0: off), on the client's sockets and asked of the
   * server for its side, so either end finds a peer that vanished without closing.
   */
  keepAliveMs?: number;
  /** Told once when the database stops answering, and once when it answers again. */
  logger?: ReachabilityLogger;
}

export interface ReachabilityLogger {
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
}

/** What connectDatabase uses when an option is not given (a service reads them from @dwld/config's databaseEnv). */
export const DATABASE_DEFAULTS = {
  poolSize: 10,
  connectionTimeoutMs: 5_000,
  statementTimeoutMs: 15_000,
  queryTimeoutMs: 20_000,
  idleInTransactionTimeoutMs: 30_000,
  keepAliveMs: 10_000,
} as const satisfies Required<Omit<DatabaseOptions, 'logger'>>;

/** node-postgres' error for a query whose answer did not come within query_timeout. */
const READ_TIMEOUT = 'Query read timeout';

/** SQLSTATEs the server sends on its way out: an answer, but no sign it is there for the next query. */
const LEAVING = /^(08|57P0[1-3])/;

/**
 * Whether the database answered, as its callers meet it. One line when it stops (not one per
 * query: every query fails while it is away) and one when it is back, with how long it was away.
 */
class Reachability {
  private downSince: number | undefined;

  constructor(private readonly logger: ReachabilityLogger | undefined) {}

  answered(): void {
    if (this.downSince === undefined) return;
    this.logger?.info('database reachable again', { afterMs: Date.now() - this.downSince });
    this.downSince = undefined;
  }

  failed(err: unknown): void {
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    this.logger?.warn('database unreachable', { error: errorMessage(err) });
  }

  /** A query's or a connection's outcome. */
  observe(err: unknown): void {
    if (err === undefined || err === null) return this.answered();
    const code = (err as { code?: unknown }).code;
    // The server answered with an error of the statement's own (a constraint, a timeout it enforced).
    if (err instanceof pg.DatabaseError && !(typeof code === 'string' && LEAVING.test(code))) return this.answered();
    if (isDatabaseUnavailable(err)) this.failed(err);
  }
}

type Callback = (err: Error | undefined, ...rest: unknown[]) => void;
type Release = (err?: Error | boolean) => void;

/**
 * node-postgres' client, watched: each outcome goes to the Reachability, and a connection that
 * died while lent out (its query timed out, or the server or network ended it) goes back to the
 * pool at once, to be dropped.
 *
 * A query that timed out is left active by node-postgres (a later answer would be its); the
 * connection is of no use until the server speaks, which in a partition may be never, so it is
 * ended: a transaction's next statement (its ROLLBACK) fails at once instead of waiting behind
 * it. Giving it back matters because Prisma 6.19 never does when a transaction's ROLLBACK or
 * COMMIT fails (it releases only after they succeed): each connection lost mid-transaction
 * would stay lent out, and a few partitions would leave the pool empty for good. The holder's
 * own release, if it comes, is then a no-op (node-postgres would throw on a second one).
 */
function watchedClient(reachability: Reachability): typeof pg.Client {
  return class WatchedClient extends pg.Client {
    private abandoned = false;
    private lent = false;
    private poolRelease: Release | undefined;

    constructor(config?: string | pg.ClientConfig) {
      super(config);
      // Also keeps a lent-out client's 'error' (the connection broke under a transaction) from
      // ending the process when its holder did not listen for it.
      this.on('error', (err: Error) => {
        reachability.observe(err);
        this.giveBack(err);
      });
    }

    /** pg-pool lends a client by setting its release function. */
    set release(release: Release) {
      this.poolRelease = release;
      this.lent = true;
    }

    get release(): Release {
      return (err) => this.giveBack(err);
    }

    // node-postgres' overloads (callback or promise): both are watched.
    override connect(...args: unknown[]): any {
      const callback = args[0];
      if (typeof callback === 'function') {
        return super.connect((err: Error) => {
          reachability.observe(err ?? undefined);
          (callback as Callback)(err);
        });
      }
      const connected = super.connect();
      connected.then(() => reachability.answered(), (err: unknown) => reachability.observe(err));
      return connected;
    }

    override query(...args: unknown[]): any {
      const first = args[0] as { submit?: unknown } | undefined;
      // A Submittable (a cursor, a stream) reports on its own.
      if (first && typeof first.submit === 'function') return (super.query as (...a: unknown[]) => unknown)(...args);
      const last = args.length - 1;
      const callback = args[last];
      if (typeof callback === 'function') {
        args[last] = (err: Error | undefined, ...rest: unknown[]) => {
          this.settled(err);
          (callback as Callback)(err, ...rest);
        };
        return (super.query as (...a: unknown[]) => unknown)(...args);
      }
      const result = (super.query as (...a: unknown[]) => Promise<unknown>)(...args);
      result.then(() => this.settled(undefined), (err: unknown) => this.settled(err));
      return result;
    }

    private settled(err: unknown): void {
      reachability.observe(err ?? undefined);
      if (!(err instanceof Error) || err.message !== READ_TIMEOUT || this.abandoned) return;
      this.abandoned = true;
      // With its query still active, end() destroys the socket rather than waiting to say goodbye.
      this.end().catch(() => undefined);
      this.giveBack(err);
    }

    private giveBack(err?: Error | boolean): void {
      if (!this.lent) return;
      this.lent = false;
      this.poolRelease?.(err);
    }
  };
}

/** The pool connectDatabase builds: every connection with the timeouts and keepalive of `options`. */
export function createPool(databaseUrl: string, options: DatabaseOptions = {}): pg.Pool {
  const settings = { ...DATABASE_DEFAULTS, ...withoutUndefined(options) };
  const reachability = new Reachability(options.logger);
  const keepAliveS = Math.max(1, Math.round(settings.keepAliveMs / 1000));
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    Client: watchedClient(reachability),
    max: settings.poolSize,
    connectionTimeoutMillis: settings.connectionTimeoutMs,
    // Sent with the startup message, so they cost no round trip; 0 sends nothing (the server's own setting holds).
    ...(settings.statementTimeoutMs > 0 ? { statement_timeout: settings.statementTimeoutMs } : {}),
    ...(settings.idleInTransactionTimeoutMs > 0 ? { idle_in_transaction_session_timeout: settings.idleInTransactionTimeoutMs } : {}),
    ...(settings.queryTimeoutMs > 0 ? { query_timeout: settings.queryTimeoutMs } : {}),
    ...(settings.keepAliveMs > 0
      ? {
          keepAlive: true,
          keepAliveInitialDelayMillis: settings.keepAliveMs,
          // The server's side of the same (its defaults are the kernel's: two hours), so a backend
          // whose client vanished in a partition does not hold a connection slot for hours.
          // A `options` parameter in DATABASE_URL takes precedence over this one.
          options: `-c tcp_keepalives_idle=${keepAliveS} -c tcp_keepalives_interval=${keepAliveS} -c tcp_keepalives_count=3`,
        }
      : {}),
  });
  // An idle connection that breaks (the server restarted) is dropped; without a listener the
  // pool's 'error' event would end the process. The next query reports the outage.
  pool.on('error', (err) => reachability.observe(err));
  return pool;
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
