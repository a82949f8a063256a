import type { DownloaderPort, DownloaderTarget, HandOver, QueuedLink } from '@dwld/contract';
import { classifyFailure, planRoute, RecentFailures, type RoutableDownloader } from '@dwld/domain';
import { DownloaderError, errorMessage } from '@dwld/errors';
import type { Logger } from '@dwld/logger';
import { findInQueue, summariseAttempt, truncate, type AttemptFailure, type CallFailure } from './decisions';
import type { SchedulerMetrics } from './metrics';

export type GateVerdict = 'go' | 'stopping' | 'out_of_time';
/** Asked before each call: may it start? Not when stopping, nor when it might outlast the claim. */
export type CallGate = () => GateVerdict | Promise<GateVerdict>;

export type AttemptOutcome =
  /** `foundInQueue`: the downloader's queue showed the link (its hand-over gave no clear answer, now or last time). */
  | { ok: true; downloader: string; failures: CallFailure[]; foundInQueue?: boolean }
  /** Stopping before a call started: nothing to record, the claim is to be released. */
  | { ok: false; interrupted: true; failures: CallFailure[] }
  /** `unconfirmed`: a downloader that may hold the link (no clear answer, and its queue could not be read). */
  | { ok: false; interrupted: false; failure: AttemptFailure; failures: CallFailure[]; unconfirmed?: string };

/**
 * Thrown by a call whose outcome stays unknown: the downloader may have queued the link, so no
 * other downloader may be given it in this attempt.
 */
export class UnconfirmedHandOver extends Error {
  constructor(
    readonly downloader: string,
    override readonly cause: unknown,
    why: string,
  ) {
    super(`${errorMessage(cause)}; ${why}`);
  }
}

/**
 * One attempt: the eligible downloaders in the given order until one takes the link. Every
 * failure moves on to the next downloader (a refusal by one says nothing about another), except
 * a hand-over whose outcome is unknown: the link may be with that downloader, so the attempt ends
 * there rather than risk a second copy.
 */
export async function tryInTurn(
  host: string,
  route: readonly RoutableDownloader[],
  call: (downloader: string) => Promise<{ foundInQueue: boolean } | void>,
  gate: CallGate,
): Promise<AttemptOutcome> {
  const failures: CallFailure[] = [];
  for (const downloader of route) {
    const verdict = await gate();
    if (verdict === 'stopping') return { ok: false, interrupted: true, failures };
    if (verdict === 'out_of_time') break;
    try {
      const foundInQueue = (await call(downloader.name))?.foundInQueue === true;
      return { ok: true, downloader: downloader.name, failures, ...(foundInQueue ? { foundInQueue } : {}) };
    } catch (err) {
      const cause = err instanceof UnconfirmedHandOver ? err.cause : err;
      const details = cause instanceof DownloaderError ? (cause.details ?? null) : null;
      const failure: CallFailure = { downloader: downloader.name, kind: classifyFailure(cause), message: truncate(errorMessage(err), 300), reason: details };
      failures.push(failure);
      if (err instanceof UnconfirmedHandOver) {
        const message = truncate(failures.map((f) => `${f.downloader}: ${f.message}`).join('; '));
        // Transient whatever the downloader said: the next attempt reads that downloader's queue first.
        return { ok: false, interrupted: false, failure: { kind: 'unavailable', message }, failures, unconfirmed: downloader.name };
      }
    }
  }
  return { ok: false, interrupted: false, failure: summariseAttempt(host, route.length, failures), failures };
}

export interface DispatcherOptions {
  /** The downloaders, whatever protocol they speak: a hand-over, and the queue when its outcome is unclear. */
  downloaders: Pick<DownloaderPort, 'handOver' | 'queue'>;
  /**
   * Where to call a downloader at the moment of the call (DownloaderDirectory.target): its
   * address as read with the claim, or its name alone for the adapter to look up.
   */
  target: (downloader: string) => DownloaderTarget;
  metrics: SchedulerMetrics;
  logger: Logger;
  random: () => number;
  /** How long a downloader that did not answer in time (or could not be reached) is tried last. Default 30 s. */
  suspectForMs?: number;
  now?: () => number;
}

/** Routes a link and hands it over, timing every call per downloader. */
export class Dispatcher {
  private readonly recentFailures: RecentFailures;
  private readonly now: () => number;

  constructor(private readonly options: DispatcherOptions) {
    this.recentFailures = new RecentFailures(options.suspectForMs ?? 30_000);
    this.now = options.now ?? Date.now;
  }

  /**
   * One attempt. `unconfirmed` names a downloader that may hold the link from an earlier try
   * (its hand-over ended without a clear answer, and its queue did not settle it then): its
   * queue is read first. There: the hand-over happened. Not there, or no longer registered:
   * routed as usual. Unreadable (or no time left): the try ends here, the mark kept, and no
   * other downloader is given a second copy.
   */
  async attempt(host: string, request: HandOver, downloaders: readonly RoutableDownloader[], gate: CallGate, unconfirmed?: string | null): Promise<AttemptOutcome> {
    const { metrics, random, logger } = this.options;
    if (unconfirmed) {
      const verdict = await gate();
      if (verdict === 'stopping') return { ok: false, interrupted: true, failures: [] };
      const still = (why: string): AttemptOutcome => {
        const message = truncate(`${unconfirmed}: may hold the link from the last try; ${why}`);
        return { ok: false, interrupted: false, failure: { kind: 'unavailable', message }, failures: [{ downloader: unconfirmed, kind: 'unavailable', message }], unconfirmed };
      };
      if (verdict === 'out_of_time') return still('its queue was not read (no time left in this try)');
      let found: QueuedLink | undefined;
      try {
        found = findInQueue(await this.options.downloaders.queue(this.options.target(unconfirmed)), request.url);
      } catch (err) {
        if (classifyFailure(err) !== 'no_downloader') return still(`its queue cannot be read (${errorMessage(err)})`);
        found = undefined;
      }
      // Ours, sent last time without an answer: waiting, in work or even downloaded since.
      if (found) {
        metrics.foundInQueue.inc({ downloader: unconfirmed });
        logger.info('link found in the queue of the downloader whose answer was lost: counted as handed over', { downloader: unconfirmed, link: request.url, found: found.stage });
        return { ok: true, downloader: unconfirmed, failures: [], foundInQueue: true };
      }
    }
    const route = planRoute(host, this.recentFailures.demote(downloaders, this.now()), random);
    return tryInTurn(
      host,
      route,
      async (downloader) => {
        const stopTimer = metrics.callSeconds.startTimer({ downloader });
        try {
          await this.options.downloaders.handOver(this.options.target(downloader), request);
          stopTimer({ outcome: 'ok' });
          this.recentFailures.succeeded(downloader);
          return { foundInQueue: false };
        } catch (err) {
          const kind = classifyFailure(err);
          stopTimer({ outcome: kind });
          if (kind === 'unavailable') this.recentFailures.failed(downloader, this.now());
          logger.debug('downloader did not take the link', { downloader, error: errorMessage(err) });
          if (!(err instanceof DownloaderError && err.outcomeUncertain)) throw err;
          return this.confirm(downloader, request.url, err, gate);
        }
      },
      gate,
    );
  }

  /**
   * After a hand-over without a clear answer, the downloader's queue says what became of it:
   * - the deadline passed (the request may have arrived, and the deployed downloader may still be
   *   inserting it): there, waiting or done, it is handed over; not there yet, or the queue
   *   unreadable, the try ends with the link unconfirmed on this downloader, to be looked up
   *   again on the next try, after the backoff;
   * - an answer that does not say (UNKNOWN, the deployed downloaders' answer to every error,
   *   "I hold that link already" included): waiting or in work, it is handed over (if another
   *   person sent the same link, the downloader holds one copy for both, as with the Go bot);
   *   downloaded already, it will not be downloaded again until its history is cleaned, which
   *   the person is told as a refusal; not there, an ordinary failure, and the next downloader
   *   is tried; unreadable, the try ends with the link unconfirmed.
   */
  private async confirm(downloader: string, link: string, err: DownloaderError, gate: CallGate): Promise<{ foundInQueue: boolean }> {
    const verdict = await gate();
    if (verdict !== 'go') throw new UnconfirmedHandOver(downloader, err, 'its queue was not read (no time left in this try)');
    let found: QueuedLink | undefined;
    try {
      found = findInQueue(await this.options.downloaders.queue(this.options.target(downloader)), link);
    } catch (queueErr) {
      throw new UnconfirmedHandOver(downloader, err, `its queue could not be read either (${errorMessage(queueErr)})`);
    }
    const deadline = err.answerLost;
    if (!found) {
      if (deadline) throw new UnconfirmedHandOver(downloader, err, 'not in its queue yet (it may still be inserting it): looked up again on the next try');
      throw err;
    }
    if (found.stage === 'finished' && !deadline) {
      const reason = `${downloader} has downloaded this link already and keeps it in its history; it takes it again once an admin cleans the history (/clean)`;
      // In the downloader's own status word (DONE for the deployed ones), as its queue says it.
      throw new DownloaderError('refused', downloader, 'handOver', `${errorMessage(err)}; the link is ${found.status} in its queue`, { cause: err, details: reason });
    }
    this.recentFailures.succeeded(downloader);
    this.options.metrics.foundInQueue.inc({ downloader });
    this.options.logger.info("the hand-over gave no clear answer but the link is in the downloader's queue: counted as handed over", { downloader, link, found: found.stage, error: errorMessage(err) });
    return { foundInQueue: true };
  }
}
