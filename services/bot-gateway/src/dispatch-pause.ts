import { readDispatchPause, setDispatchPaused, type Database, type PausedBy } from '@dwld/db';
import type { PauseView } from './texts';

/**
 * Whether dispatching is paused (/pooloff), as cards and /queue show it. Read at most once per
 * `maxAgeMs` (every new link's card needs it: one query a second, not one per link); a flip
 * made through this process is seen at once, one made through another replica within
 * `maxAgeMs`.
 */
export class DispatchPauseState {
  private cached: { at: number; pause: PauseView | null } | undefined;
  private reading: Promise<PauseView | null> | undefined;

  constructor(
    private readonly db: Database,
    private readonly maxAgeMs = 1_000,
    /** Measures the cache's age only (elapsed time), so it stays on real time rather than the gateway's clock. */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Null while dispatching runs. Never fails: while the database cannot be read, the last state
   * read (or "running") stands, so a card is still drawn (a stored link must get its card).
   */
  async current(): Promise<PauseView | null> {
    if (this.cached && this.now() - this.cached.at < this.maxAgeMs) return this.cached.pause;
    this.reading ??= this.read()
      .catch(() => this.cached?.pause ?? null)
      .finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** Flips the switch; true when it flipped (false: it already stood that way). */
  async set(paused: boolean, by?: PausedBy): Promise<boolean> {
    const flipped = await setDispatchPaused(this.db, paused, by);
    this.cached = undefined;
    return flipped;
  }

  private async read(): Promise<PauseView | null> {
    const at = this.now();
    const state = await readDispatchPause(this.db);
    const pause = state.paused ? { since: state.since, by: state.by } : null;
    this.cached = { at, pause };
    return pause;
  }
}
