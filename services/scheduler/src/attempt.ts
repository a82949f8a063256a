import type { SetToQueueRequest } from '@dwld/contract';
import { classifyFailure, planRoute, RecentFailures, type RoutableDownloader } from '@dwld/domain';
import { errorMessage } from '@dwld/errors';
import type { Logger } from '@dwld/logger';
import { summariseAttempt, truncate, type AttemptFailure, type CallFailure } from './decisions';
import type { SchedulerMetrics } from './metrics';

export type GateVerdict = 'go' | 'stopping' | 'out_of_time';
/** Asked before each call: may it start? Not when stopping, nor when it might outlast the claim. */
export type CallGate = () => GateVerdict | Promise<GateVerdict>;

export type AttemptOutcome =
  | { ok: true; downloader: string; failures: CallFailure[] }
  /** Stopping before a call started: nothing to record, the claim is to be released. */
  | { ok: false; interrupted: true; failures: CallFailure[] }
  | { ok: false; interrupted: false; failure: AttemptFailure; failures: CallFailure[] };

/**
 * One attempt: the eligible downloaders in the given order until one takes the link. Every
 * failure moves on to the next downloader (a refusal by one says nothing about another).
 */
export async function tryInTurn(
  host: string,
  route: readonly RoutableDownloader[],
  call: (downloader: string) => Promise<void>,
  gate: CallGate,
): Promise<AttemptOutcome> {
  const failures: CallFailure[] = [];
  for (const downloader of route) {
    const verdict = await gate();
    if (verdict === 'stopping') return { ok: false, interrupted: true, failures };
    if (verdict === 'out_of_time') break;
    try {
      await call(downloader.name);
      return { ok: true, downloader: downloader.name, failures };
    } catch (err) {
      const details = typeof err === 'object' && err !== null && 'details' in err && typeof err.details === 'string' ? err.details : null;
      failures.push({ downloader: downloader.name, kind: classifyFailure(err), message: truncate(errorMessage(err), 300), reason: details });
    }
  }
  return { ok: false, interrupted: false, failure: summariseAttempt(host, route.length, failures), failures };
}

export type SetToQueue = (downloader: string, request: SetToQueueRequest) => Promise<unknown>;

export interface DispatcherOptions {
  setToQueue: SetToQueue;
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

  async attempt(host: string, request: SetToQueueRequest, downloaders: readonly RoutableDownloader[], gate: CallGate): Promise<AttemptOutcome> {
    const { setToQueue, metrics, random } = this.options;
    const route = planRoute(host, this.recentFailures.demote(downloaders, this.now()), random);
    return tryInTurn(
      host,
      route,
      async (downloader) => {
        const stopTimer = metrics.callSeconds.startTimer({ downloader });
        try {
          await setToQueue(downloader, request);
          stopTimer({ outcome: 'ok' });
          this.recentFailures.succeeded(downloader);
        } catch (err) {
          const kind = classifyFailure(err);
          stopTimer({ outcome: kind });
          if (kind === 'unavailable') this.recentFailures.failed(downloader, this.now());
          this.options.logger.debug('downloader did not take the link', { downloader, error: (err as Error).message });
          throw err;
        }
      },
      gate,
    );
  }
}
