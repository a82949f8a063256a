import type { DownloaderPort } from '@dwld/contract';
import type { Logger } from '@dwld/logger';
import { Repeating } from '@dwld/runtime';
import type { Downloader, DownloaderStore } from './downloader-store';
import { DownloaderError, errorMessage } from '@dwld/errors';

export interface HealthPollerOptions {
  store: DownloaderStore;
  /** Checks each downloader at the address in its row (the one being checked), not by a new lookup. */
  downloaders: Pick<DownloaderPort, 'health'>;
  logger: Logger;
  intervalMs: number;
  unhealthyAfterMs: number;
  /** Told when a downloader turns healthy or unhealthy. */
  onHealthChange: (downloader: Downloader, healthy: boolean) => Promise<void>;
  /** Checks run at once at most (a large fleet should not open hundreds of connections together). */
  concurrency?: number;
}

/** Checks the health of every registered downloader every interval and records what it finds. */
export class HealthPoller {
  private readonly loop = new Repeating(async () => {
    await this.pollOnce();
    return this.options.intervalMs;
  });
  /** Silence before this is not held against a downloader (see nextHealth). */
  private watchingSince: Date | undefined;
  private rounds = 0;
  /** Since when rounds cannot list the downloaders: said once, not every round. */
  private skippingSince: number | undefined;

  constructor(private readonly options: HealthPollerOptions) {}

  start(): void {
    this.watchingSince = new Date();
    this.loop.start(0);
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Rounds completed since start (a round whose list could not be read does not count). */
  roundsCompleted(): number {
    return this.rounds;
  }

  /** One round of checks over every downloader; never throws (a round that fails is logged and the next one runs). */
  async pollOnce(): Promise<void> {
    let downloaders: Downloader[];
    try {
      downloaders = await this.options.store.list();
    } catch (err) {
      if (this.skippingSince === undefined) this.options.logger.warn('health rounds skipped: cannot list downloaders', { error: errorMessage(err) });
      this.skippingSince ??= Date.now();
      return;
    }
    if (this.skippingSince !== undefined) {
      this.options.logger.info('health rounds resumed', { afterMs: Date.now() - this.skippingSince });
      this.skippingSince = undefined;
    }
    const queue = [...downloaders];
    const workers = Array.from({ length: Math.min(this.options.concurrency ?? 16, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await this.check(next);
    });
    await Promise.all(workers);
    this.rounds += 1;
  }

  private async check(downloader: Downloader): Promise<void> {
    const { logger, store, downloaders, unhealthyAfterMs } = this.options;
    let answered: boolean;
    let message: string | null;
    try {
      const response = await downloaders.health({ name: downloader.name, address: { host: downloader.host, port: downloader.port } });
      answered = true;
      message = response.message ?? null;
    } catch (err) {
      answered = false;
      message = err instanceof DownloaderError ? err.message : `health check failed: ${errorMessage(err)}`;
    }
    try {
      const outcome = await store.recordHealth(downloader, answered, message, new Date(), unhealthyAfterMs, this.watchingSince);
      if (outcome?.changed) {
        logger[outcome.healthy ? 'info' : 'warn'](outcome.healthy ? 'downloader is healthy again' : 'downloader is unhealthy', {
          downloader: downloader.name,
          address: `${downloader.host}:${downloader.port}`,
          ...(answered ? {} : { error: message }),
        });
        await this.options.onHealthChange({ ...downloader, healthy: outcome.healthy }, outcome.healthy);
      }
    } catch (err) {
      logger.warn('cannot record a health check', { downloader: downloader.name, error: errorMessage(err) });
    }
  }
}
