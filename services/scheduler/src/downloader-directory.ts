import type { DownloaderAddress, DownloaderTarget } from '@dwld/contract';
import { downloaderRouteJson, isDatabaseUnavailable, Prisma, routesFromJson, type Database, type DownloaderRoute, type Sql } from '@dwld/db';
import { isEligible } from '@dwld/domain';
import { errorMessage } from '@dwld/errors';
import type { DownloaderChanged } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import { Batcher } from '@dwld/runtime';
import type { SchedulerMetrics } from './metrics';

/** A downloader as the scheduler knows it: its route (name, address, patterns, health), as @dwld/db maps a row. */
export type KnownDownloader = DownloaderRoute;

type LookupResult = { address: DownloaderAddress | null } | { error: unknown };

/**
 * The routing list's version as the table holds it (text: a bigint), moved by triggers on
 * `downloaders` whenever a row comes or goes or a field routing reads changes (see the
 * downloaders_version migration). One row by its key: what a claim reads instead of the list.
 */
export const ROUTES_VERSION = Prisma.sql`(SELECT version FROM downloaders_version WHERE id = 1)::text`;

/** The whole list and the version it is at, in one statement (one snapshot). */
const LOAD_ROUTES = Prisma.sql`
  SELECT ${ROUTES_VERSION} AS version,
         (SELECT COALESCE(json_agg(${downloaderRouteJson()} ORDER BY name), '[]') FROM downloaders)::text AS routes`;

/** A call this soon after the list was known to be the table's takes its address from it, not from a new read. */
const ADDRESS_FRESH_MS = 1_000;

/**
 * Reloads when the version moved: a few at once (a downloader registering, then another), then
 * one a second at most, so a flood of changes cannot turn every poll into a read of the whole
 * table. While one is held back, calls look their addresses up and the list may lag a second.
 */
const RELOADS_AT_ONCE = 3;
const RELOAD_REFILL_MS = 1_000;

/** Hosts whose eligible downloaders are remembered at most (the memo is dropped when full). */
const MAX_HOSTS_REMEMBERED = 10_000;

export interface DownloaderDirectoryOptions {
  /** How often the whole list is read again though its version did not move (a missed change heals). */
  reloadMs: number;
  metrics: SchedulerMetrics;
  /** The clock (tests move it). Default Date.now. */
  now?: () => number;
}

/**
 * The registry's `downloaders` table as the scheduler routes with it, held in memory: read
 * whole at start, then again only when its version moves (each claim reads the version, one
 * row, never the list) or every `reloadMs`; downloader.changed events are applied at once in
 * between. So an idle scheduler reads nothing of the table, whatever it holds.
 *
 * The list is "current" from a read, or a claim that found the version it was read at, for
 * ADDRESS_FRESH_MS: a call then takes its address from memory. Otherwise (the version moved and
 * the reload is held back, a call long after the last claim) the adapter looks the address up
 * in the table at the call. While PostgreSQL cannot be reached, the list in memory is used as
 * it stands, so a link.urgent event (accepted because the database was down) can still be routed.
 */
export class DownloaderDirectory {
  private readonly known = new Map<string, KnownDownloader>();
  private readonly now: () => number;
  /** The version the list in memory was read at; undefined before the first read. */
  private loadedVersion: string | null | undefined;
  /** When the last read of the whole list started. */
  private loadedAt = Number.NEGATIVE_INFINITY;
  /** The last moment the list in memory was known to be the table's. */
  private confirmedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | undefined;
  /** Events applied while a read is in flight: applied again over its result, which may predate them. */
  private appliedWhileLoading: DownloaderChanged[] = [];
  private reloadTokens = RELOADS_AT_ONCE;
  private tokensAt: number;
  private staleSince: number | undefined;
  /** Per host, the downloaders that take it (in list order): routing a link does not match every pattern again. */
  private readonly eligibleByHost = new Map<string, KnownDownloader[]>();
  /** Lookups asked while one read is in flight share the next read: one query per round trip, however many calls. */
  private readonly lookups = new Batcher<string, LookupResult>((names) => this.readAddresses(names), { maxBatch: 1000 });

  constructor(
    private readonly db: Database,
    private readonly sql: Sql,
    private readonly logger: Logger,
    private readonly options: DownloaderDirectoryOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.tokensAt = this.now();
  }

  /** The first read, at start. The database away is no reason not to start: the polls read it once it answers. */
  async start(): Promise<void> {
    try {
      await this.load('start');
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      this.logger.warn('database unavailable: the downloaders are read once it answers', { error: errorMessage(err) });
    }
  }

  /**
   * After a claim that read the routing list's `version` at `readAt`: the list in memory is the
   * table's if it was read at that version; if not, it is read again (here, so the links just
   * claimed are routed with it; held back during a flood of changes). Never throws: a poll's
   * claimed links go out whatever happens here, with their addresses looked up at the call.
   */
  async observe(version: string | null, readAt: number): Promise<void> {
    try {
      if (this.loadedVersion !== undefined && version === this.loadedVersion) {
        this.confirmedAt = Math.max(this.confirmedAt, readAt);
        if (readAt - this.loadedAt >= this.options.reloadMs) void this.load('periodic').catch((err: unknown) => this.loadFailed(err));
        return;
      }
      // Known not to be the table's: no address is taken from memory until it is read again.
      this.confirmedAt = Number.NEGATIVE_INFINITY;
      if (!this.takeReloadToken()) {
        this.staleSince ??= this.now();
        return;
      }
      await this.load('changed');
    } catch (err) {
      this.loadFailed(err);
    }
  }

  /** The list in memory, read again first if its version moved; as it stands while the database is away. */
  async current(): Promise<KnownDownloader[]> {
    if (!this.fresh()) {
      const readAt = this.now();
      try {
        const [row] = await this.sql.rows<{ version: string | null }>(Prisma.sql`SELECT ${ROUTES_VERSION} AS version`);
        await this.observe(row?.version ?? null, readAt);
      } catch (err) {
        if (!isDatabaseUnavailable(err)) throw err;
        this.logger.debug('database unavailable: routing with the downloaders in memory', { count: this.known.size });
      }
    }
    return [...this.known.values()];
  }

  /** The downloaders that take links from `host`, in list order (routing's input: planRoute keeps only these anyway). */
  eligible(host: string): KnownDownloader[] {
    let found = this.eligibleByHost.get(host);
    if (found === undefined) {
      found = [...this.known.values()].filter((downloader) => isEligible(host, downloader));
      if (this.eligibleByHost.size >= MAX_HOSTS_REMEMBERED) this.eligibleByHost.clear();
      this.eligibleByHost.set(host, found);
    }
    return found;
  }

  /**
   * For the dispatcher, at the moment of each call: where to call `name`. While the list is
   * current (see the class), the address in memory goes with the name, so the adapter calls it
   * without a lookup; a downloader.changed event since (a re-registration on another port) wins
   * at once. Otherwise the name alone, which the adapter looks up at the call (see lookup).
   */
  readonly target = (name: string): DownloaderTarget => {
    if (!this.fresh()) return name;
    const known = this.known.get(name);
    // A downloader carries its address (host, port): no copy needed. Not known: the lookup says it is not registered.
    return known ? { name, address: known } : name;
  };

  /**
   * For the adapter: the address as the table holds it at the call. While the list is current,
   * the one in memory (with any event since, as target gives); otherwise a read of that row.
   */
  readonly lookup = async (name: string): Promise<DownloaderAddress | null> => {
    if (this.fresh()) return this.remembered(name);
    const result = await this.lookups.submit(name);
    if ('error' in result) throw result.error;
    return result.address;
  };

  /** A downloader.changed event: applied at once, until the next read of the list. */
  apply(change: DownloaderChanged): void {
    if (this.loading) this.appliedWhileLoading.push(change);
    this.remember(change);
    this.changed();
  }

  private remember(change: DownloaderChanged): void {
    if (change.change === 'forgotten') this.known.delete(change.name);
    else this.known.set(change.name, { name: change.name, host: change.host, port: change.port, patterns: change.patterns, healthy: change.healthy });
  }

  /** Reads the whole list and the version it is at; one read at a time (callers meanwhile share it). */
  private load(reason: 'start' | 'changed' | 'periodic'): Promise<void> {
    this.loading ??= (async () => {
      const startedAt = this.now();
      try {
        const [row] = await this.sql.rows<{ version: string | null; routes: string }>(LOAD_ROUTES);
        const routes = routesFromJson(row!.routes);
        this.known.clear();
        for (const downloader of routes) this.known.set(downloader.name, downloader);
        for (const change of this.appliedWhileLoading) this.remember(change);
        this.changed();
        this.loadedVersion = row!.version;
        this.loadedAt = startedAt;
        this.confirmedAt = startedAt;
        this.options.metrics.routesLoads.inc({ reason });
        this.options.metrics.routesHeld.set(routes.length);
        if (this.staleSince !== undefined) {
          this.logger.info('routing list read again after a flood of changes', { behindMs: this.now() - this.staleSince });
          this.staleSince = undefined;
        }
      } finally {
        this.loading = undefined;
        this.appliedWhileLoading = [];
      }
    })();
    return this.loading;
  }

  private loadFailed(err: unknown): void {
    // The list in memory stays; calls look addresses up (or use memory while the database is away).
    this.logger[isDatabaseUnavailable(err) ? 'debug' : 'warn']('could not read the downloaders: routing with the list in memory', { error: errorMessage(err) });
  }

  private takeReloadToken(): boolean {
    const now = this.now();
    this.reloadTokens = Math.min(RELOADS_AT_ONCE, this.reloadTokens + (now - this.tokensAt) / RELOAD_REFILL_MS);
    this.tokensAt = now;
    if (this.reloadTokens < 1) return false;
    this.reloadTokens -= 1;
    return true;
  }

  private changed(): void {
    this.eligibleByHost.clear();
    this.options.metrics.routesHeld.set(this.known.size);
  }

  private async readAddresses(names: string[]): Promise<LookupResult[]> {
    try {
      this.options.metrics.addressLookups.inc(names.length);
      const rows = await this.db.downloader.findMany({ where: { name: { in: [...new Set(names)] } }, select: { name: true, host: true, port: true } });
      const found = new Map(rows.map((row) => [row.name, { host: row.host, port: row.port }]));
      return names.map((name) => ({ address: found.get(name) ?? null }));
    } catch (err) {
      // The database is away: the remembered address is the best there is.
      return names.map((name) => {
        const address = this.remembered(name);
        return !isDatabaseUnavailable(err) || !address ? { error: err } : { address };
      });
    }
  }

  /** Whether the list in memory was known to be the table's under ADDRESS_FRESH_MS ago. */
  private fresh(): boolean {
    return this.now() - this.confirmedAt < ADDRESS_FRESH_MS;
  }

  private remembered(name: string): DownloaderAddress | null {
    const known = this.known.get(name);
    return known ? { host: known.host, port: known.port } : null;
  }
}
