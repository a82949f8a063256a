/**
 * A task run again and again on a timer (a health round, a re-registration): each run returns
 * how long to wait before the next, two runs never overlap, and `stop` waits for the run in
 * flight. A run is expected to handle its own failures: one that rejects stops the repetition
 * and rejects `runNow` (from the timer, that is an unhandled rejection, which a service treats
 * as fatal).
 */
export class Repeating {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly run: () => Promise<number>,
    /** `unref`: the timer alone does not keep the process alive. */
    private readonly options: { unref?: boolean } = {},
  ) {}

  /** Plans the first run after `delayMs`; does nothing when already started. */
  start(delayMs = 0): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(delayMs);
  }

  /** No more runs; resolves once the run in flight (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** Runs now, or joins the run in flight; the next run is planned from its end. Nothing once stopped. */
  runNow(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.inFlight) return this.inFlight;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight = (async () => {
      let nextInMs: number;
      try {
        nextInMs = await this.run();
      } finally {
        this.inFlight = undefined;
      }
      this.schedule(nextInMs);
    })();
    return this.inFlight;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.runNow(), delayMs);
    if (this.options.unref) this.timer.unref();
  }
}
