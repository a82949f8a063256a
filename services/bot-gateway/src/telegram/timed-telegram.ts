import { Telegram } from 'telegraf';
import type { Opts, Telegram as Methods } from 'telegraf/types';
import type { Logger } from '@dwld/logger';

type CallApiOptions = NonNullable<Parameters<Telegram['callApi']>[2]>;

/**
 * Telegraf's client gives every call 500 s before it gives up: a Bot API server that accepts a
 * call and never answers holds it (and the chat's queue behind it) that long. A timed-out call
 * fails like node-fetch's own timeout (a FetchError of type 'request-timeout'), which
 * telegraf's long polling retries; an AbortError would end the polling loop for good.
 */
export class TelegramCallTimeout extends Error {
  override readonly name = 'FetchError';
  readonly type = 'request-timeout';
  constructor(readonly method: string, readonly afterMs: number) {
    super(`Telegram did not answer ${method} within ${afterMs / 1000} s`);
  }
}

/** What a failed call says about Telegram: a status, a network error code or a timeout; never the URL (it names the API root). */
export function describeTelegramFailure(err: unknown): string {
  const e = err as { response?: { error_code?: unknown }; code?: unknown; errno?: unknown; type?: unknown; afterMs?: unknown };
  if (err instanceof TelegramCallTimeout) return `no answer within ${err.afterMs / 1000} s`;
  if (typeof e?.response?.error_code === 'number') return `HTTP ${e.response.error_code}`;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.errno === 'string') return e.errno;
  if (typeof e?.type === 'string') return e.type;
  return 'network error';
}

/** Whether a failure says Telegram is unreachable, failing or rate-limiting (not: it refused this one call). */
function isOutage(err: unknown): boolean {
  const code = (err as { response?: { error_code?: unknown } })?.response?.error_code;
  return typeof code !== 'number' || code >= 500 || code === 429;
}

/**
 * What the gateway knows of Telegram from its own calls: reachable, failing since when, or not
 * heard from yet. /readyz shows it (see app.ts); changes are logged once.
 */
export class TelegramHealth {
  private state: { kind: 'unknown' } | { kind: 'ok' } | { kind: 'failing'; since: number; reason: string } = { kind: 'unknown' };

  constructor(
    private readonly logger: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  succeeded(): void {
    if (this.state.kind === 'failing') this.logger.info('telegram answers again', { failingForS: Math.round((this.clock() - this.state.since) / 1000) });
    this.state = { kind: 'ok' };
  }

  failed(err: unknown): void {
    if (!isOutage(err)) return this.succeeded();
    const reason = describeTelegramFailure(err);
    if (this.state.kind === 'failing') {
      this.state.reason = reason;
      return;
    }
    this.logger.warn('telegram unreachable or failing: calls are retried', { reason });
    this.state = { kind: 'failing', since: this.clock(), reason };
  }

  get reachable(): boolean {
    return this.state.kind === 'ok';
  }

  /** What is wrong and since when ('since <time>: HTTP 500'), or undefined when Telegram answers. */
  problem(): string | undefined {
    switch (this.state.kind) {
      case 'ok':
        return undefined;
      case 'unknown':
        return 'not reached yet';
      case 'failing':
        return `since ${new Date(this.state.since).toISOString()}: ${this.state.reason}`;
    }
  }

  /** One line for logs: 'ok', 'not reached yet' or 'failing since …'. */
  describe(): string {
    const problem = this.problem();
    return problem === undefined ? 'ok' : this.state.kind === 'failing' ? `failing ${problem}` : problem;
  }
}

/**
 * A Telegram client whose every call has its own deadline (`callTimeoutMs`; a long poll gets its
 * own `timeout` on top) and reports its outcome to `health`.
 */
export class TimedTelegram extends Telegram {
  constructor(
    token: string,
    options: Partial<Telegram['options']>,
    private readonly callTimeoutMs: number,
    private readonly health?: TelegramHealth,
  ) {
    super(token, options);
  }

  override async callApi<M extends keyof Methods>(method: M, payload: Opts<M>, options: CallApiOptions = {}): Promise<ReturnType<Methods[M]>> {
    const pollS = method === 'getUpdates' ? Number((payload as { timeout?: unknown }).timeout ?? 0) || 0 : 0;
    const limitMs = pollS * 1000 + this.callTimeoutMs;
    // One native signal for node-fetch, aborted by the deadline or by the caller's signal
    // (telegraf's polling passes the abort-controller package's, which AbortSignal.any ignores).
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, limitMs);
    const callerSignal = options.signal as { aborted: boolean; addEventListener(type: 'abort', listener: () => void): void; removeEventListener(type: 'abort', listener: () => void): void } | undefined;
    const callerAborted = () => controller.abort();
    if (callerSignal?.aborted) controller.abort();
    else callerSignal?.addEventListener('abort', callerAborted);
    try {
      const result = await super.callApi(method, payload, { signal: controller.signal as unknown as CallApiOptions['signal'] });
      this.health?.succeeded();
      return result;
    } catch (err) {
      const failure = timedOut ? new TelegramCallTimeout(method, limitMs) : err;
      // The caller's own abort (polling stopping) says nothing about Telegram.
      if (!callerSignal?.aborted) this.health?.failed(failure);
      throw failure;
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', callerAborted);
    }
  }
}
