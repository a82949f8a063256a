import { answerLost, DownloaderCallError, outcomeUncertain, type SetToQueueRequest } from '@dwld/contract';
import { classifyFailure, planRoute, RecentFailures, type RoutableDownloader } from '@dwld/domain';
import { errorMessage } from '@dwld/errors';
import type { Logger } from '@dwld/logger';
import { summariseAttempt, truncate, type AttemptFailure, type CallFailure } from './decisions';
import type { SchedulerMetrics } from './metrics';

export type GateVerdict = 'go' | 'stopping' | 'out_of_time';
/** Asked before each call: may it start? Not when stopping, nor when it might outlast the claim. */
export type CallGate = () => GateVerdict | Promise<GateVerdict>;

export type AttemptOutcome =
  /** `foundInQueue`: the downloader's Queue showed the link (its SetToQueue gave no clear answer, now or last time). */
  | { ok: true; downloader: string; failures: CallFailure[]; foundInQueue?: boolean }
  /** Stopping before a call started: nothing to record, the claim is to be released. */
  | { ok: false; interrupted: true; failures: CallFailure[] }
  /** `unconfirmed`: a downloader that may hold the link (no clear answer, and its Queue could not be read). */
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
      const details = typeof cause === 'object' && cause !== null && 'details' in cause && typeof cause.details === 'string' ? cause.details : null;
      const failure: CallFailure = { downloader: downloader.name, kind: classifyFailure(cause), message: truncate(errorMessage(err), 300), reason: details };
      failures.push(failure);
      if (err instanceof UnconfirmedHandOver) {
        const message = truncate(failures.map((f) => `${f.downloader}: ${f.message}`).join('; '));
        // Transient whatever the code said: the next attempt reads that downloader's Queue first.
        return { ok: false, interrupted: false, failure: { kind: 'unavailable', message }, failures, unconfirmed: downloader.name };
      }
    }
  }
  return { ok: false, interrupted: false, failure: summariseAttempt(host, route.length, failures), failures };
}

export type SetToQueue = (downloader: string, request: SetToQueueRequest) => Promise<unknown>;
/**
 * What the downloader's Queue says of a link: waiting or in work (`held`), downloaded already
 * (`finished`: the deployed downloaders keep DONE rows until CleanHistory), or not there.
 * Rejects when the Queue cannot be read.
 */
export type QueueLookup = (downloader: string, link: string) => Promise<'held' | 'finished' | 'absent'>;

export interface DispatcherOptions {
  setToQueue: SetToQueue;
  queueLookup: QueueLookup;
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
   * (its SetToQueue ended without a clear answer, and its Queue did not settle it then): its
   * Queue is read first. There: the hand-over happened. Not there, or no longer registered:
   * routed as usual. Unreadable (or no time left): the try ends here, the mark kept, and no
   * other downloader is given a second copy.
   */
  async attempt(host: string, request: SetToQueueRequest, downloaders: readonly RoutableDownloader[], gate: CallGate, unconfirmed?: string | null): Promise<AttemptOutcome> {
    const { metrics, random, logger } = this.options;
    if (unconfirmed) {
      const verdict = await gate();
      if (verdict === 'stopping') return { ok: false, interrupted: true, failures: [] };
      const still = (why: string): AttemptOutcome => {
        const message = truncate(`${unconfirmed}: may hold the link from the last try; ${why}`);
        return { ok: false, interrupted: false, failure: { kind: 'unavailable', message }, failures: [{ downloader: unconfirmed, kind: 'unavailable', message }], unconfirmed };
      };
      if (verdict === 'out_of_time') return still('its queue was not read (no time left in this try)');
      let found: 'held' | 'finished' | 'absent';
      try {
        found = await this.options.queueLookup(unconfirmed, request.link);
      } catch (err) {
        if (classifyFailure(err) !== 'no_downloader') return still(`its queue cannot be read (${errorMessage(err)})`);
        found = 'absent';
      }
      // Ours, sent last time without an answer: waiting, in work or even downloaded since.
      if (found !== 'absent') {
        metrics.foundInQueue.inc({ downloader: unconfirmed });
        logger.info('link found in the queue of the downloader whose answer was lost: counted as handed over', { downloader: unconfirmed, link: request.link, found });
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
          await this.options.setToQueue(downloader, request);
          stopTimer({ outcome: 'ok' });
          this.recentFailures.succeeded(downloader);
          return { foundInQueue: false };
        } catch (err) {
          const kind = classifyFailure(err);
          stopTimer({ outcome: kind });
          if (kind === 'unavailable') this.recentFailures.failed(downloader, this.now());
          logger.debug('downloader did not take the link', { downloader, error: errorMessage(err) });
          if (!outcomeUncertain(err)) throw err;
          return this.confirm(downloader, request.link, err, gate);
        }
      },
      gate,
    );
  }

  /**
   * After a SetToQueue without a clear answer, the downloader's Queue says what became of it:
   * - the deadline passed (the request may have arrived, and the deployed downloader may still be
   *   inserting it): there, waiting or done, it is handed over; not there yet, or the Queue
   *   unreadable, the try ends with the link unconfirmed on this downloader, to be looked up
   *   again on the next try, after the backoff;
   * - UNKNOWN (the deployed downloaders' answer to every error, "I hold that link already"
   *   included): waiting or in work, it is handed over (if another person sent the same link,
   *   the downloader holds one copy for both, as with the Go bot); downloaded already, it will
   *   not be downloaded again until its history is cleaned, which the person is told as a
   *   refusal; not there, an ordinary failure, and the next downloader is tried; unreadable,
   *   the try ends with the link unconfirmed.
   */
  private async confirm(downloader: string, link: string, err: unknown, gate: CallGate): Promise<{ foundInQueue: boolean }> {
    const verdict = await gate();
    if (verdict !== 'go') throw new UnconfirmedHandOver(downloader, err, 'its queue was not read (no time left in this try)');
    let found: 'held' | 'finished' | 'absent';
    try {
      found = await this.options.queueLookup(downloader, link);
    } catch (queueErr) {
      throw new UnconfirmedHandOver(downloader, err, `its queue could not be read either (${errorMessage(queueErr)})`);
    }
    const deadline = answerLost(err);
    if (found === 'absent') {
      if (deadline) throw new UnconfirmedHandOver(downloader, err, 'not in its queue yet (it may still be inserting it): looked up again on the next try');
      throw err;
    }
    if (found === 'finished' && !deadline) {
      const reason = `${downloader} has downloaded this link already and keeps it in its history; it takes it again once an admin cleans the history (/clean)`;
      throw new DownloaderCallError('refused', downloader, 'SetToQueue', `${errorMessage(err)}; the link is DONE in its queue`, undefined, { cause: err, details: reason });
    }
    this.recentFailures.succeeded(downloader);
    this.options.metrics.foundInQueue.inc({ downloader });
    this.options.logger.info("SetToQueue gave no clear answer but the link is in the downloader's queue: counted as handed over", { downloader, link, found, error: errorMessage(err) });
    return { foundInQueue: true };
  }
}
