import type { DownloaderAddress } from '@dwld/contract';
import type { Database, Downloader } from '@dwld/db';

export type { Downloader };

/**
 * The gateway's read of the `downloaders` table (the registry writes it): who to show admins,
 * who to tell when a link is removed, and where one listens when it is called.
 */
export class DownloaderList {
  constructor(private readonly db: Database) {}

  /** Every registered downloader, by name. */
  list(): Promise<Downloader[]> {
    return this.db.downloader.findMany({ orderBy: { name: 'asc' } });
  }

  async names(): Promise<string[]> {
    const rows = await this.db.downloader.findMany({ orderBy: { name: 'asc' }, select: { name: true } });
    return rows.map((row) => row.name);
  }

  /** Where a downloader listens now; null when it is not registered. */
  address(name: string): Promise<DownloaderAddress | null> {
    return this.db.downloader.findUnique({ where: { name }, select: { host: true, port: true } });
  }
}
