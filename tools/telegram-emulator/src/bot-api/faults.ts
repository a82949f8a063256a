import { ApiError, STATUS_TEXT, tooManyRequests } from './api-error';

/** An error the next call(s) of a method answer with instead of running. */
export type Fault =
  | { errorCode: 429; retryAfter?: number; description?: string }
  | { errorCode: number; description?: string };

interface ArmedFault {
  method: string;
  fault: Fault;
  remaining: number;
}

/** Fault injection: `failNext('sendMessage', { errorCode: 429, retryAfter: 2 })`. */
export class FaultSwitches {
  private armed: ArmedFault[] = [];

  /** `method` is a Bot API method name (any case) or '*' for every method. */
  failNext(method: string, fault: Fault, count = 1): void {
    if (!Number.isInteger(fault.errorCode) || fault.errorCode < 400 || fault.errorCode > 599) throw new Error(`Not an error code: ${fault.errorCode}`);
    if (count > 0) this.armed.push({ method: method === '*' ? '*' : method.toLowerCase(), fault, remaining: count });
  }

  /** The error the call answers with, if a fault is armed for it (and uses it up). */
  take(method: string): ApiError | undefined {
    const index = this.armed.findIndex((armed) => armed.method === '*' || armed.method === method.toLowerCase());
    const armed = this.armed[index];
    if (!armed) return undefined;
    if (--armed.remaining <= 0) this.armed.splice(index, 1);
    return toApiError(armed.fault);
  }

  clear(): void {
    this.armed = [];
  }
}

function toApiError(fault: Fault): ApiError {
  if (fault.errorCode === 429) {
    const retryAfter = 'retryAfter' in fault && fault.retryAfter !== undefined ? fault.retryAfter : 1;
    const error = tooManyRequests(retryAfter);
    return fault.description ? new ApiError(429, fault.description, error.parameters) : error;
  }
  return new ApiError(fault.errorCode, fault.description ?? STATUS_TEXT[fault.errorCode] ?? 'Error');
}
