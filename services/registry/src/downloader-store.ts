import { DOWNLOADERS, Prisma, routeRowOf, type Database, type Downloader } from '@dwld/db';
import { nextHealth } from './health';
import type { Registration } from './registration';

export type { Downloader };

/**
 * A registration's effect: a new or changed downloader (as now stored), none (it registered
 * again as it stands), or refused because it is a new name and the table holds `maxDownloaders`.
 */
export type RegisterOutcome = { kind: 'changed'; downloader: Downloader } | { kind: 'unchanged' } | { kind: 'full' };

/** Any number that is the same in every replica: creates of new names take this lock in turn (see register). */
const NEW_NAME_LOCK = 0x64776c64; // "dwld"

const ROW = DOWNLOADERS.all();

export interface HealthOutcome {
  /** The downloader's health after this check. */
  healthy: boolean;
  /** True when this check turned it healthy or unhealthy (only one registry replica sees that). */
  changed: boolean;
}

/** The registry's table of downloaders (the registry is its only writer). */
export class DownloaderStore {
  /** Creates of new names in this process, one after the other (see createWhileRoom). */
  private creates: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: Database) {}

  /**
   * Creates or replaces the downloader with this name: host, port and patterns are replaced
   * entirely, and a registration counts as a sign of life (healthy again). `changed` is false
   * for a downloader registering again as it stands (same host, port and patterns, healthy):
   * every downloader does so every few seconds, and only a change is worth telling anyone.
   * A name not in the table yet is added only while it holds fewer than `maxDownloaders`.
   */
  async register(registration: Registration, now: Date, maxDownloaders = Number.MAX_SAFE_INTEGER): Promise<RegisterOutcome> {
    const { name, ...address } = routeRowOf(registration);
    const same = { name, ...address, allowedPatterns: { equals: address.allowedPatterns }, healthy: true };
    // One statement: it applies only where the row is still exactly as registered.
    const { count } = await this.db.downloader.updateMany({ where: same, data: { registeredAt: now, lastSeenAt: now } });
    if (count === 1) return { kind: 'unchanged' };
    const fields = { ...address, registeredAt: now, lastSeenAt: now, healthy: true };
    const [updated] = await this.db.downloader.updateManyAndReturn({ where: { name }, data: fields });
    if (updated) return { kind: 'changed', downloader: updated };
    const created = await this.createWhileRoom({ name, ...fields }, maxDownloaders);
    return created ? { kind: 'changed', downloader: created } : { kind: 'full' };
  }

  /**
   * Adds a downloader unless the table holds `max` already. Counting and inserting in one
   * statement is not enough: two replicas (or two calls) could each count max - 1 and both
   * insert. Creates of new names are rare (a fleet registers its names once), so they take a
   * transaction-scoped advisory lock in turn; the count after it sees every create before it.
   * A name created meanwhile by another call is updated instead (ON CONFLICT).
   */
  private async createWhileRoom(row: Omit<Downloader, 'id' | 'updatedAt' | 'lastHealthAt' | 'lastHealthOk' | 'lastHealthMessage'>, max: number): Promise<Downloader | undefined> {
    // A full table refuses without the lock: a flood of new names once it is full costs a count each.
    if ((await this.db.downloader.count()) >= max) return undefined;
    // One create at a time per process: callers waiting for the lock would each hold a pool
    // connection (and starve everything else) where now one does. Callers waiting here hold a
    // slot of MAX_REGISTRATIONS_IN_FLIGHT, so the wait is bounded too.
    const turn = this.creates.then(() => this.createUnderLock(row, max));
    this.creates = turn.catch(() => undefined);
    return turn;
  }

  private createUnderLock(row: Omit<Downloader, 'id' | 'updatedAt' | 'lastHealthAt' | 'lastHealthOk' | 'lastHealthMessage'>, max: number): Promise<Downloader | undefined> {
    // Prisma's defaults (2 s to get a connection, 5 s in all) are short for a busy machine; the
    // lock is held for one INSERT.
    return this.db.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${NEW_NAME_LOCK}::bigint)`;
        const rows = await tx.$queryRaw<unknown[]>`
          INSERT INTO downloaders (name, host, port, allowed_patterns, registered_at, last_seen_at, healthy, updated_at)
          SELECT ${row.name}, ${row.host}, ${row.port}::int, ${row.allowedPatterns}::text[], ${row.registeredAt}::timestamptz, ${row.lastSeenAt}::timestamptz, ${row.healthy}, now()
          WHERE (SELECT count(*) FROM downloaders) < ${max}::bigint
          ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host, port = EXCLUDED.port, allowed_patterns = EXCLUDED.allowed_patterns,
            registered_at = EXCLUDED.registered_at, last_seen_at = EXCLUDED.last_seen_at, healthy = EXCLUDED.healthy, updated_at = now()
          RETURNING ${ROW.select()}`;
        return rows[0] === undefined ? undefined : ROW.read(rows[0]);
      },
      { maxWait: 10_000, timeout: 15_000 },
    );
  }

  /**
   * Deletes every downloader not heard of (no registration, no answered health check) since
   * `before`, and every one that has not answered a single health check since it registered
   * before `unansweredBefore` (a junk registration: an address nobody serves, which would
   * otherwise hold one of MAX_DOWNLOADERS' places for as long as a real downloader gone quiet),
   * and returns them as they were. A registration sets registered_at and last_seen_at alike and
   * only an answered check moves last_seen_at past it. One statement, so of several registry
   * replicas pruning at once each row is deleted, and reported, by one; a downloader heard of in
   * the meantime is not deleted (the statement re-reads a row that changed under it).
   */
  async forgetSilentSince(before: Date, unansweredBefore: Date = before): Promise<Downloader[]> {
    const rows = await this.db.$queryRaw<unknown[]>(Prisma.sql`
      DELETE FROM downloaders
       WHERE last_seen_at < ${before}::timestamptz
          OR (last_seen_at <= registered_at AND registered_at < ${unansweredBefore}::timestamptz)
      RETURNING ${ROW.select()}`);
    return rows.map((row) => ROW.read(row));
  }

  /** How many downloaders the table holds. */
  count(): Promise<number> {
    return this.db.downloader.count();
  }

  list(): Promise<Downloader[]> {
    return this.db.downloader.findMany({ orderBy: { name: 'asc' } });
  }

  findByName(name: string): Promise<Downloader | null> {
    return this.db.downloader.findUnique({ where: { name } });
  }

  /**
   * Records a health check of `checked` (the row as read before the check). The update only
   * applies while the downloader is still at the address that was checked, so a check of an
   * old address never marks a re-registered downloader down; and the health flips only where
   * it still holds the old value, so of several replicas only one reports the change.
   */
  async recordHealth(checked: Downloader, answered: boolean, message: string | null, now: Date, unhealthyAfterMs: number, watchingSince?: Date): Promise<HealthOutcome | null> {
    const next = nextHealth({ healthy: checked.healthy, lastSeenAt: checked.lastSeenAt }, answered, now, unhealthyAfterMs, watchingSince);
    const at = { name: checked.name, host: checked.host, port: checked.port };
    const result = {
      lastHealthAt: now,
      lastHealthOk: answered,
      lastHealthMessage: message,
      ...(answered ? { lastSeenAt: now } : {}),
    };
    if (next.healthy !== checked.healthy) {
      const { count } = await this.db.downloader.updateMany({ where: { ...at, healthy: checked.healthy }, data: { ...result, healthy: next.healthy } });
      if (count === 1) return { healthy: next.healthy, changed: true };
    }
    const { count } = await this.db.downloader.updateMany({ where: at, data: result });
    return count === 1 ? { healthy: next.healthy, changed: false } : null;
  }
}
