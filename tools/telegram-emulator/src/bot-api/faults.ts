import { ApiError, STATUS_TEXT, tooManyRequests } from './api-error';

/** An error the next call(s) of a method answer with instead of running. */
export type Fault =
  | { errorCode: 429; retryAfter?: number; description?: string }
  | { errorCode: number; description?: string };

/**
 * A call that is accepted and never answered: the bot's connection stays open until the bot
 * gives up (hangs up) or the emulator stops. `afterRunning`: the method is carried out first
 * (the message is sent, Telegram's answer is lost on the way back); otherwise nothing happens.
 */
export interface HangFault {
  afterRunning?: boolean;
}

/** What a call meets instead of a plain answer. */
export type FaultAction = { kind: 'error'; error: ApiError } | { kind: 'hang'; afterRunning: boolean };

interface ArmedFault {
  method: string;
  action: { kind: 'error'; fault: Fault } | { kind: 'hang'; afterRunning: boolean };
  /** Infinity: until cleared. */
  remaining: number;
}

/**
 * Fault injection: `failNext('sendMessage', { errorCode: 429, retryAfter: 2 })`, an outage
 * (`failUntilCleared('*', { errorCode: 500 })`), a hung server (`hang('sendMessage')`).
 * The first armed fault that matches a call is used.
 */
export class FaultSwitches {
  private armed: ArmedFault[] = [];

  /** `method` is a Bot API method name (any case) or '*' for every method. */
  failNext(method: string, fault: Fault, count = 1): void {
    checkFault(fault);
    if (!(count > 0)) return;
    this.armed.push({ method: methodKey(method), action: { kind: 'error', fault }, remaining: count });
  }

  /** Every call of `method` ('*': any) answers with this error until clear() (or reset()). */
  failUntilCleared(method: string, fault: Fault): void {
    this.failNext(method, fault, Infinity);
  }

  /** Every call of `method` ('*': any) hangs until clear(); see HangFault. */
  hang(method: string, options: HangFault = {}): void {
    this.armed.push({ method: methodKey(method), action: { kind: 'hang', afterRunning: options.afterRunning === true }, remaining: Infinity });
  }

  /** What the call meets, if a fault is armed for it (a counted fault is used up). */
  take(method: string): FaultAction | undefined {
    const index = this.armed.findIndex((armed) => armed.method === '*' || armed.method === method.toLowerCase());
    const armed = this.armed[index];
    if (!armed) return undefined;
    if (--armed.remaining <= 0) this.armed.splice(index, 1);
    return armed.action.kind === 'hang' ? armed.action : { kind: 'error', error: toApiError(armed.action.fault) };
  }

  clear(): void {
    this.armed = [];
  }
}

function methodKey(method: string): string {
  return method === '*' ? '*' : method.toLowerCase();
}

function checkFault(fault: Fault): void {
  if (!Number.isInteger(fault.errorCode) || fault.errorCode < 400 || fault.errorCode > 599) throw new Error(`Not an error code: ${fault.errorCode}`);
}

function toApiError(fault: Fault): ApiError {
  if (fault.errorCode === 429) {
    const retryAfter = 'retryAfter' in fault && fault.retryAfter !== undefined ? fault.retryAfter : 1;
    const error = tooManyRequests(retryAfter);
    return fault.description ? new ApiError(429, fault.description, error.parameters) : error;
  }
  return new ApiError(fault.errorCode, fault.description ?? STATUS_TEXT[fault.errorCode] ?? 'Error');
}
