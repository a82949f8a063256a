export interface WaitOptions {
  /** Give up after this long (ms). */
  timeout?: number;
  /** Check again after this long (ms). */
  interval?: number;
  /** Named in the error when the condition never holds. */
  what?: string;
}

/**
 * Wait until `check` returns a value other than undefined/false (or stops throwing), then
 * return it. A condition to wait on, never a bare sleep: the test goes on as soon as it holds.
 */
export async function waitFor<T>(check: () => T | Promise<T>, options: WaitOptions = {}): Promise<Exclude<T, false | undefined>> {
  const { timeout = 10_000, interval = 20, what = 'condition' } = options;
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as Exclude<T, false | undefined>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** A promise with its resolve exposed, for handlers that tests hold open. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
