import * as grpc from '@grpc/grpc-js';
import { registerDownloader, type RegisterDownloaderRequest } from '@dwld/contract';
import type { Logger } from '@dwld/logger';
import { Repeating } from '@dwld/runtime';
import { errorMessage } from '@dwld/errors';

/** The wait before retry number `failures` (1, 2, …): doubling from `minMs`, never more than `maxMs`. */
export function retryDelay(failures: number, minMs: number, maxMs: number): number {
  const exponent = Math.max(0, Math.min(30, failures - 1));
  return Math.max(0, Math.min(maxMs, minMs * 2 ** exponent));
}

/** What the last registration attempt came to: `registered`, or the failure's gRPC status name. */
export type RegistrationState = 'registered' | string;

export interface RegistrarOptions {
  /** host:port of the registry (grpc.v1.Bot). */
  target: string;
  /** The request to send; called at each attempt (the port is known only once the server is bound). */
  request: () => RegisterDownloaderRequest;
  token?: string;
  /** Re-register this often once registered. */
  intervalMs: number;
  /** First retry after a failure; it doubles up to `intervalMs`. */
  retryMinMs?: number;
  /**
   * For this long after start, until the first registration, failures are logged at debug: the
   * registry is often starting at the same time (a sandbox, a compose file). Past it, a registry
   * still unreachable is warned about. Default 0: the first failure is warned about.
   */
  graceMs?: number;
  deadlineMs?: number;
  logger: Logger;
  /** While this answers true, attempts are skipped: a downloader acting as down does not announce itself. */
  paused?: () => boolean;
  /** Called after each attempt (metrics). */
  onAttempt?: (outcome: 'ok' | 'failed') => void;
}

/**
 * Registers the downloader with the registry at start and every `intervalMs`, retrying with
 * backoff while the registry does not answer. It never throws: a registry that is down is
 * logged once (and again only when the state changes), not once per attempt, and not at all
 * while it is merely starting (`graceMs`).
 */
export class Registrar {
  private readonly loop = new Repeating(() => this.attempt(), { unref: true });
  private failures = 0;
  private lastState: RegistrationState | undefined;
  /** The last state logged at info or warn: a line is worth writing when the state differs. */
  private reportedState: RegistrationState | undefined;
  private startedAt = 0;
  private successes = 0;

  constructor(private readonly options: RegistrarOptions) {}

  start(): void {
    this.startedAt = Date.now();
    this.loop.start(0);
  }

  /** Stops re-registering; waits for an attempt in flight (bounded by its deadline). */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** `registered`, a gRPC status name of the last failure, or undefined before the first answer. */
  state(): RegistrationState | undefined {
    return this.lastState;
  }

  /** Successful registrations so far. */
  registrations(): number {
    return this.successes;
  }

  /** Registers now (and re-plans the next attempt from here); does nothing once stopped or while paused. */
  registerNow(): Promise<void> {
    // A stopped downloader no longer serves, so it must not announce itself (runNow does nothing once stopped).
    return this.loop.runNow();
  }

  /** One registration; resolves with the wait before the next. Never rejects. */
  private async attempt(): Promise<number> {
    const { options } = this;
    if (options.paused?.()) {
      options.logger.debug('registration skipped: acting as down');
      return options.intervalMs;
    }
    let delay: number;
    try {
      const request = options.request();
      await registerDownloader(options.target, request, { token: options.token, deadlineMs: options.deadlineMs ?? 5000 });
      this.failures = 0;
      this.successes += 1;
      this.lastState = 'registered';
      const details = { registry: options.target, name: request.serverName, address: `${request.serverHost}:${request.serverPort}`, patterns: request.allowedRootLinks };
      if (this.report('registered')) options.logger.info('registered with the registry', details);
      else options.logger.debug('registered again', details);
      options.onAttempt?.('ok');
      delay = options.intervalMs;
    } catch (err) {
      this.failures += 1;
      const code = (err as grpc.ServiceError).code;
      const state = typeof code === 'number' ? (grpc.status[code] ?? String(code)) : 'ERROR';
      delay = retryDelay(this.failures, options.retryMinMs ?? 1000, options.intervalMs);
      this.lastState = state;
      const details = { registry: options.target, error: errorMessage(err), retryInMs: delay };
      const starting = this.successes === 0 && Date.now() - this.startedAt < (options.graceMs ?? 0);
      if (starting) options.logger.debug('the registry does not answer yet: will keep trying', details);
      else if (this.report(state)) options.logger.warn('cannot register with the registry: will keep trying', details);
      else options.logger.debug('registration failed again', details);
      options.onAttempt?.('failed');
    }
    return delay;
  }

  /** True when `state` differs from the last one logged at info or warn (then it is worth a line). */
  private report(state: RegistrationState): boolean {
    const changed = this.reportedState !== state;
    this.reportedState = state;
    return changed;
  }
}
