import { outcomeUncertain, type SetToQueueRequest } from '@dwld/contract';
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
/** Whether the downloader's Queue holds this link (rejects when the Queue cannot be read). */
export type QueueHolds = (downloader: string, link: string) => Promise<boolean>;

export interface DispatcherOptions {
  setToQueue: SetToQueue;
  queueHolds: QueueHolds;
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
   * (its SetToQueue ended without a clear answer and its Queue could not be read then): its
   * Queue is read first, and if the link is there the hand-over is counted as done.
   */
  async attempt(host: string, request: SetToQueueRequest, downloaders: readonly RoutableDownloader[], gate: CallGate, unconfirmed?: string | null): Promise<AttemptOutcome> {
    const { metrics, random, logger } = this.options;
    if (unconfirmed) {
      const verdict = await gate();
      if (verdict === 'stopping') return { ok: false, interrupted: true, failures: [] };
      if (verdict === 'go' && (await this.holds(unconfirmed, request.link))) {
        metrics.foundInQueue.inc({ downloader: unconfirmed });
        logger.info('link found in the queue of the downloader whose answer was lost: counted as handed over', { downloader: unconfirmed, link: request.link });
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
          logger.debug('downloader did not take the link', { downloader, error: (err as Error).message });
          if (!outcomeUncertain(err)) throw err;
          return this.confirm(downloader, request.link, err, gate);
        }
      },
      gate,
    );
  }

  /**
   * After a SetToQueue without a clear answer (deadline, or the deployed downloaders' UNKNOWN,
   * which is also how they say "I hold that link already"): the downloader's Queue says whether
   * the link got there. Found: handed over. Not found: an ordinary failure. Unreadable: unknown.
   */
  private async confirm(downloader: string, link: string, err: unknown, gate: CallGate): Promise<{ foundInQueue: boolean }> {
    const verdict = await gate();
    if (verdict !== 'go') throw new UnconfirmedHandOver(downloader, err, 'its queue was not read (no time left in this try)');
    let holds: boolean;
    try {
      holds = await this.options.queueHolds(downloader, link);
    } catch (queueErr) {
      throw new UnconfirmedHandOver(downloader, err, `its queue could not be read either (${errorMessage(queueErr)})`);
    }
    if (!holds) throw err;
    this.recentFailures.succeeded(downloader);
    this.options.metrics.foundInQueue.inc({ downloader });
    this.options.logger.info('SetToQueue gave no clear answer but the link is in the downloader\'s queue: counted as handed over', { downloader, link, error: errorMessage(err) });
    return { foundInQueue: true };
  }

  /** Whether the downloader holds the link; false when its Queue cannot be read (it is then tried as usual). */
  private async holds(downloader: string, link: string): Promise<boolean> {
    try {
      return await this.options.queueHolds(downloader, link);
    } catch (err) {
      this.options.logger.info('queue of the downloader whose answer was lost cannot be read: trying as usual', { downloader, error: errorMessage(err) });
      return false;
    }
  }
}
