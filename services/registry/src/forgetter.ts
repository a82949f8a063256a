import type { Logger } from '@dwld/logger';
import { Repeating } from '@dwld/runtime';
import { errorMessage } from '@dwld/errors';
import type { Downloader, DownloaderStore } from './downloader-store';

export interface ForgetterOptions {
  store: Pick<DownloaderStore, 'forgetSilentSince'>;
  logger: Logger;
  /** A downloader unheard of this long is forgotten (FORGET_DOWNLOADER_AFTER_S). */
  afterMs: number;
  /** One that has answered no health check since it registered this long ago is forgotten too (FORGET_UNANSWERED_AFTER_S; default afterMs). */
  unansweredAfterMs?: number;
  /**
   * Whether the health poller has been round once since start. Until then nothing is
   * forgotten: a registry that was itself down for days has not yet heard from downloaders that
   * are up and would answer their first health check.
   */
  heardFromFleet: () => boolean;
  /** Told of each downloader forgotten (once, by the replica that deleted it). */
  onForgotten: (downloader: Downloader) => Promise<void>;
  now?: () => number;
}

/** How often to look: a tenth of the time to forget, between a second and an hour. */
export function forgetIntervalMs(afterMs: number): number {
  return Math.min(3_600_000, Math.max(1_000, Math.round(afterMs / 10)));
}

/**
 * Deletes downloaders unheard of (no registration, no answered health check) for `afterMs`, so
 * junk rows and downloaders long gone do not stay in every scheduler's routing list forever.
 * Safe with several replicas: each row is deleted, and announced, by one of them.
 */
export class Forgetter {
  private readonly intervalMs: number;
  private readonly loop = new Repeating(async () => {
    if (!this.options.heardFromFleet()) return Math.min(this.intervalMs, 1_000);
    await this.forgetOnce();
    return this.intervalMs;
  });

  /** Since when this registry checks health: a registration it has not checked for unansweredAfterMs is not judged. */
  private readonly since: number;

  constructor(private readonly options: ForgetterOptions) {
    this.since = options.now?.() ?? Date.now();
    this.intervalMs = forgetIntervalMs(Math.min(options.afterMs, options.unansweredAfterMs ?? options.afterMs));
  }

  start(): void {
    this.loop.start(0);
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One look; never throws (a failed look is logged and the next one runs). Resolves with those forgotten. */
  async forgetOnce(): Promise<Downloader[]> {
    const { store, logger, afterMs, onForgotten } = this.options;
    const now = this.options.now?.() ?? Date.now();
    let forgotten: Downloader[];
    try {
      // Never answered is judged only after this registry has itself asked for that long (as
      // silence counts from its start): one that was down has not asked anyone yet.
      const unansweredAfterMs = this.options.unansweredAfterMs ?? afterMs;
      const unansweredBefore = now - this.since >= unansweredAfterMs ? new Date(now - unansweredAfterMs) : new Date(0);
      forgotten = await store.forgetSilentSince(new Date(now - afterMs), unansweredBefore);
    } catch (err) {
      logger.warn('cannot forget silent downloaders now: will look again', { error: errorMessage(err) });
      return [];
    }
    for (const downloader of forgotten) {
      const never = downloader.lastSeenAt.getTime() <= downloader.registeredAt.getTime();
      logger.info(never ? 'downloader forgotten: never answered a health check (FORGET_UNANSWERED_AFTER_S)' : 'downloader forgotten: unheard of for FORGET_DOWNLOADER_AFTER_S', { downloader: downloader.name, address: `${downloader.host}:${downloader.port}`, lastSeenAt: downloader.lastSeenAt.toISOString() });
      await onForgotten(downloader);
    }
    return forgotten;
  }
}
