import type { DownloaderAddress, DownloaderTarget } from '@dwld/contract';
import { DOWNLOADER_ROUTE_SELECT, isDatabaseUnavailable, routeOf, type Database, type DownloaderRoute } from '@dwld/db';
import type { DownloaderChanged } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import { Batcher } from '@dwld/runtime';

/** A downloader as the scheduler knows it: its route (name, address, patterns, health), as @dwld/db maps a row. */
export type KnownDownloader = DownloaderRoute;

type LookupResult = { address: DownloaderAddress | null } | { error: unknown };

/** A call this soon after the table was read takes its address from that read, not from a new one. */
const ADDRESS_FRESH_MS = 1_000;

/**
 * The registry's `downloaders` table as the scheduler reads it: the routing list, and each
 * downloader's address at the moment of a call. The last list read (and downloader.changed
 * events) are remembered, and used only while PostgreSQL cannot be reached, so a link.urgent
 * event (accepted because the database was down) can still be routed.
 */
export class DownloaderDirectory {
  private readonly known = new Map<string, KnownDownloader>();
  private listedAt = Number.NEGATIVE_INFINITY;
  /** Lookups asked while one read is in flight share the next read: one query per round trip, however many calls. */
  private readonly lookups = new Batcher<string, LookupResult>((names) => this.readAddresses(names), { maxBatch: 1000 });

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  /** Every registered downloader; the remembered list while the database is unreachable. */
  async list(): Promise<KnownDownloader[]> {
    try {
      const rows = await this.db.downloader.findMany({ orderBy: { name: 'asc' }, select: DOWNLOADER_ROUTE_SELECT });
      const fresh = rows.map(routeOf);
      this.remember(fresh, Date.now());
      return fresh;
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      this.logger.debug('database unavailable: routing with the remembered downloaders', { count: this.known.size });
      return [...this.known.values()];
    }
  }

  /** The whole table as read at `readAt` elsewhere (a poll reads it with its claim). */
  remember(downloaders: readonly KnownDownloader[], readAt: number): void {
    this.known.clear();
    for (const downloader of downloaders) this.known.set(downloader.name, downloader);
    this.listedAt = readAt;
  }

  /** Reads the table when the remembered list is older than `maxAgeMs`, so it is fresh when the database goes away. */
  async refresh(maxAgeMs: number): Promise<void> {
    if (Date.now() - this.listedAt >= maxAgeMs) await this.list();
  }

  /**
   * For the dispatcher, at the moment of each call: where to call `name`. Right after a read of
   * the table (the poll that claimed the link read it in the same statement) the address that
   * read gave, or a downloader.changed event since, goes with the name, so the adapter calls it
   * without a lookup. Later (the next downloader after a slow failure, a call after a stall) the
   * name alone, which the adapter looks up at the call (see lookup). Either way the address
   * comes from a read under ADDRESS_FRESH_MS old (the remembered one only while the database is
   * away), and a re-registration heard of since wins at once.
   */
  readonly target = (name: string): DownloaderTarget => {
    if (!this.fresh()) return name;
    const known = this.known.get(name);
    // A downloader carries its address (host, port): no copy needed. Not known: the lookup says it is not registered.
    return known ? { name, address: known } : name;
  };

  /**
   * For the adapter: the address as the table holds it at the call. A call right after a read
   * uses that read, and a downloader.changed event since (as target does); a later one (the next
   * downloader after a failure) reads the table again.
   */
  readonly lookup = async (name: string): Promise<DownloaderAddress | null> => {
    if (this.fresh()) return this.remembered(name);
    const result = await this.lookups.submit(name);
    if ('error' in result) throw result.error;
    return result.address;
  };

  private async readAddresses(names: string[]): Promise<LookupResult[]> {
    try {
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

  /** Whether the remembered list was read under ADDRESS_FRESH_MS ago: its addresses are the table's at this moment. */
  private fresh(): boolean {
    return Date.now() - this.listedAt < ADDRESS_FRESH_MS;
  }

  private remembered(name: string): DownloaderAddress | null {
    const known = this.known.get(name);
    return known ? { host: known.host, port: known.port } : null;
  }

  /** A downloader.changed event: remembered until the next read of the table. */
  apply(change: DownloaderChanged): void {
    if (change.change === 'forgotten') {
      this.known.delete(change.name);
      return;
    }
    this.known.set(change.name, { name: change.name, host: change.host, port: change.port, patterns: change.patterns, healthy: change.healthy });
  }
}
