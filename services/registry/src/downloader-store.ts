import { routeRowOf, type Database, type Downloader } from '@dwld/db';
import { nextHealth } from './health';
import type { Registration } from './registration';

export type { Downloader };

/** A registration's effect: a new or changed downloader (as now stored), or none (it registered again as it stands). */
export type RegisterOutcome = { changed: true; downloader: Downloader } | { changed: false };

export interface HealthOutcome {
  /** The downloader's health after this check. */
  healthy: boolean;
  /** True when this check turned it healthy or unhealthy (only one registry replica sees that). */
  changed: boolean;
}

/** The registry's table of downloaders (the registry is its only writer). */
export class DownloaderStore {
  constructor(private readonly db: Database) {}

  /**
   * Creates or replaces the downloader with this name: host, port and patterns are replaced
   * entirely, and a registration counts as a sign of life (healthy again). `changed` is false
   * for a downloader registering again as it stands (same host, port and patterns, healthy):
   * every downloader does so every few seconds, and only a change is worth telling anyone.
   */
  async register(registration: Registration, now: Date): Promise<RegisterOutcome> {
    const { name, ...address } = routeRowOf(registration);
    const same = { name, ...address, allowedPatterns: { equals: address.allowedPatterns }, healthy: true };
    // One statement: it applies only where the row is still exactly as registered.
    const { count } = await this.db.downloader.updateMany({ where: same, data: { registeredAt: now, lastSeenAt: now } });
    if (count === 1) return { changed: false };
    const fields = { ...address, registeredAt: now, lastSeenAt: now, healthy: true };
    const downloader = await this.db.downloader.upsert({
      where: { name },
      create: { name, ...fields },
      update: fields,
    });
    return { downloader, changed: true };
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
