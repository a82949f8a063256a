/**
 * How the simulated downloader behaves:
 * - ok: does its work;
 * - fail: acts as down — every rpc answers UNAVAILABLE (a counted fail: only SetToQueue);
 * - refuse: SetToQueue answers INVALID_ARGUMENT with a reason;
 * - hang: SetToQueue never answers and takes nothing (the caller's deadline expires);
 * - cut: SetToQueue takes the link, then the connection is cut before the answer leaves (the
 *   caller sees its connection drop);
 * - late: SetToQueue takes the link at once and answers only after LATE_REPLY_S (past the
 *   caller's deadline, the answer goes nowhere).
 */
export const MODES = ['ok', 'fail', 'refuse', 'hang', 'cut', 'late'] as const;
export type Mode = (typeof MODES)[number];

export function isMode(value: unknown): value is Mode {
  return typeof value === 'string' && (MODES as readonly string[]).includes(value);
}

/** A mode and the reason sent with fail and refuse answers (a default one when absent). */
export interface Behaviour {
  mode: Mode;
  message?: string;
}

export interface ModeState extends Behaviour {
  /** A behaviour for only the next `remaining` SetToQueue calls, before `mode` holds again. */
  override?: Behaviour & { remaining: number };
}

/**
 * The standing mode and a counted override: `set('fail', 2)` makes the next two SetToQueue
 * calls fail, then the standing mode holds again. Pure state, no I/O.
 */
export class ModeSwitch {
  private standing: Behaviour;
  private override: (Behaviour & { remaining: number }) | undefined;

  constructor(private readonly initial: Mode) {
    this.standing = { mode: initial };
  }

  /** Without a count the mode stands until changed; with one it covers only the next `count` SetToQueue calls. */
  set(mode: Mode, count?: number, message?: string): ModeState {
    if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new RangeError('count must be a whole number of at least 1');
    const behaviour: Behaviour = message === undefined ? { mode } : { mode, message };
    if (count === undefined) {
      this.standing = behaviour;
      this.override = undefined;
    } else {
      this.override = { ...behaviour, remaining: count };
    }
    return this.state();
  }

  /** The behaviour of one SetToQueue call; it uses up one call of a counted override. */
  take(): Behaviour {
    const override = this.override;
    if (!override) return { ...this.standing };
    override.remaining -= 1;
    if (override.remaining <= 0) this.override = undefined;
    return override.message === undefined ? { mode: override.mode } : { mode: override.mode, message: override.message };
  }

  /** The standing behaviour, which every rpc other than SetToQueue follows. */
  current(): Behaviour {
    return { ...this.standing };
  }

  /** Back to the configured mode, no override. */
  reset(): void {
    this.standing = { mode: this.initial };
    this.override = undefined;
  }

  state(): ModeState {
    return { ...this.standing, ...(this.override ? { override: { ...this.override } } : {}) };
  }
}
