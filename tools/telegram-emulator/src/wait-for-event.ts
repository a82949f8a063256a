import type { EventEmitter } from 'node:events';

/**
 * Resolves with the first non-undefined value `match` returns for an event, or rejects after
 * `timeoutMs` naming what was awaited. Event driven: nothing polls.
 *
 * The value is handed over on the next turn of the event loop: an event fired while a Bot API
 * call runs (a message sent, a callback answered) then resolves only after that call has been
 * answered and logged, so `calls()` already shows it.
 */
export function waitForEvent<T>(emitter: EventEmitter, event: string, match: (...args: any[]) => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const listener = (...args: unknown[]) => {
      let value: T | undefined;
      try {
        value = match(...args);
      } catch (err) {
        cleanup();
        reject(err);
        return;
      }
      if (value === undefined) return;
      cleanup();
      setImmediate(() => resolve(value));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      emitter.off(event, listener);
    };
    emitter.on(event, listener);
  });
}
