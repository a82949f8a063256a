/** How long a scrape waits for a value read from the database or Redis before it reports the last one. */
export const SCRAPE_WAIT_MS = 250;

/**
 * A gauge's collect() for a value read at scrape time: one read in flight at most, waited for
 * `waitMs` at most, so /metrics answers at once while the database (or Redis) is silent, with
 * the last value; the read still in flight lands for a later scrape. A read that fails keeps
 * the last value (/readyz tells the story).
 */
export function boundedCollect<T>(read: () => Promise<T>, apply: (value: T) => void, waitMs = SCRAPE_WAIT_MS): () => Promise<void> {
  let reading: Promise<void> | undefined;
  return async () => {
    reading ??= read()
      .then(apply, () => undefined)
      .finally(() => (reading = undefined));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([reading, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  };
}
