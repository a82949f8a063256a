import type { DownloaderAddress } from '@dwld/contract';
import { isDatabaseUnavailable, type Database } from '@dwld/db';
import type { RoutableDownloader } from '@dwld/domain';
import type { DownloaderChanged } from '@dwld/events';
import type { Logger } from '@dwld/logger';

export interface KnownDownloader extends RoutableDownloader, DownloaderAddress {}

/**
 * The registry's `downloaders` table as the scheduler reads it: the routing list, and each
 * downloader's address at the moment of a call. The last list read (and downloader.changed
 * events) are remembered, and used only while PostgreSQL cannot be reached, so a link.urgent
 * event (accepted because the database was down) can still be routed.
 */
export class DownloaderDirectory {
  private readonly known = new Map<string, KnownDownloader>();
  private listedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  /** Every registered downloader; the remembered list while the database is unreachable. */
  async list(): Promise<KnownDownloader[]> {
    try {
      const rows = await this.db.downloader.findMany({ orderBy: { name: 'asc' } });
      const fresh = rows.map((row) => ({ name: row.name, host: row.host, port: row.port, patterns: row.allowedPatterns, healthy: row.healthy }));
      this.known.clear();
      for (const downloader of fresh) this.known.set(downloader.name, downloader);
      this.listedAt = Date.now();
      return fresh;
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      this.logger.debug('database unavailable: routing with the remembered downloaders', { count: this.known.size });
      return [...this.known.values()];
    }
  }

  /** Reads the table when the remembered list is older than `maxAgeMs`, so it is fresh when the database goes away. */
  async refresh(maxAgeMs: number): Promise<void> {
    if (Date.now() - this.listedAt >= maxAgeMs) await this.list();
  }

  /** For the DownloaderClient: the address as the table holds it now. */
  readonly lookup = async (name: string): Promise<DownloaderAddress | null> => {
    try {
      const row = await this.db.downloader.findUnique({ where: { name }, select: { host: true, port: true } });
      return row ? { host: row.host, port: row.port } : null;
    } catch (err) {
      const remembered = this.known.get(name);
      if (!isDatabaseUnavailable(err) || !remembered) throw err;
      return { host: remembered.host, port: remembered.port };
    }
  };

  /** A downloader.changed event: remembered until the next read of the table. */
  apply(change: DownloaderChanged): void {
    this.known.set(change.name, { name: change.name, host: change.host, port: change.port, patterns: change.patterns, healthy: change.healthy });
  }
}
