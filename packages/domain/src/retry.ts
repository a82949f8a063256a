import { downloaderFailureOf, isDownloaderFailure, type DownloaderFailure } from '@dwld/errors';

export interface BackoffSettings {
  /** Delay bound of the first retry, in ms; a non-negative safe integer. */
  baseMs: number;
  /** Largest delay bound, in ms; a non-negative safe integer. */
  capMs: number;
}

/**
 * How long to wait before the next try after `attempt` failed tries (attempt ≥ 1; smaller or
 * fractional values count as the nearest valid attempt). Exponential backoff with "equal
 * jitter": bound = min(cap, base·2^(attempt−1)), result in [bound/2, bound], a whole number of
 * ms when the bound is. Equal rather than full jitter so a retry is never almost immediate.
 * Finite for any attempt, however large.
 */
export function backoffDelayMs(attempt: number, { baseMs, capMs }: BackoffSettings, random: () => number): number {
  assertMs('baseMs', baseMs);
  assertMs('capMs', capMs);
  const tries = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : attempt > 0 ? Number.MAX_SAFE_INTEGER : 1;
  // 2^1023 is the largest finite power of two; any bigger exponent is past every cap anyway.
  const exponent = Math.min(tries - 1, 1023);
  const bound = Math.min(capMs, baseMs * 2 ** exponent);
  const half = bound / 2;
  const draw = random();
  const jitter = Number.isFinite(draw) ? Math.min(1, Math.max(0, draw)) : 0;
  // ceil keeps the result at or above bound/2; it cannot pass an integral bound because half·(1+jitter) ≤ bound.
  return Math.min(bound, Math.ceil(half + jitter * half));
}

function assertMs(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative whole number of milliseconds, got ${value}`);
}

/** How a hand-over to a downloader failed: @dwld/errors' downloader failure kinds. */
export type DispatchFailureKind = DownloaderFailure;

/** The failure kind of something caught around a dispatch (see downloaderFailureOf). */
export const classifyFailure = downloaderFailureOf;

export const isDispatchFailureKind = isDownloaderFailure;

export interface FailureContext extends BackoffSettings {
  kind: DispatchFailureKind;
  /** Tries made so far, the one that just failed included (≥ 1). */
  attempts: number;
  /** How many tries a link gets when downloaders keep refusing it. */
  maxRefusals: number;
  /** How many tries a link gets in all, whatever the failures. */
  maxAttempts: number;
  /** How long after its first failed try a link is still tried (ms). */
  giveUpAfterMs: number;
  /** When its first try failed: this try's time (`now`) when it is the first. */
  firstFailedAt: Date;
  now: Date;
  random: () => number;
}

export type FailureDecision = { action: 'retry'; nextAttemptAt: Date } | { action: 'fail'; why: GiveUpReason };

/** Why a link is given up: downloaders refused it, it was tried MAX_ATTEMPTS times, or for GIVE_UP_AFTER_S. */
export type GiveUpReason = 'refused' | 'attempts' | 'time';

/**
 * What to do with a link whose hand-over just failed. A refusal is the downloader's answer
 * about this link, so it ends the link after `maxRefusals` tries. Every other kind is about the
 * fleet (none registered yet, one down, and the deployed downloaders' UNKNOWN for everything) and
 * is retried with backoff, but not for ever: after `maxAttempts` tries, or once `giveUpAfterMs`
 * has passed since the first failure, whichever comes first. A retry that would fall after that
 * moment is made at it instead, so the last try is on time.
 */
export function decideAfterFailure({ kind, attempts, maxRefusals, maxAttempts, giveUpAfterMs, firstFailedAt, now, baseMs, capMs, random }: FailureContext): FailureDecision {
  if (kind === 'refused' && attempts >= maxRefusals) return { action: 'fail', why: 'refused' };
  if (attempts >= maxAttempts) return { action: 'fail', why: 'attempts' };
  const nowMs = now.getTime();
  if (!Number.isFinite(nowMs)) throw new RangeError('now must be a valid Date');
  const endMs = firstFailedAt.getTime() + giveUpAfterMs;
  if (!(nowMs < endMs)) return { action: 'fail', why: 'time' };
  return { action: 'retry', nextAttemptAt: new Date(Math.min(endMs, nowMs + backoffDelayMs(attempts, { baseMs, capMs }, random))) };
}
