import { decideAfterFailure, type GiveUpReason } from '@dwld/domain';
import type { DispatchResult } from '@dwld/events';
import type { AttemptFailure, RetryLimits } from './decisions';
import type { FailureRecord } from './dispatch-ledger';
import type { SchedulerMetrics } from './metrics';

export interface FailurePolicy {
  metrics: SchedulerMetrics;
  backoff: { baseMs: number; capMs: number };
  limits: RetryLimits;
  random: () => number;
}

/** One try that no downloader took, of a claimed row or of a link.urgent event's link. */
export interface FailedTry {
  failure: AttemptFailure;
  /** Tries made, this one included. */
  attempt: number;
  /** When the link's first try failed, if an earlier one did. */
  firstFailedAt: Date | null;
  /** Give up whatever the limits say: the link cannot be sent at all. */
  giveUp: boolean;
  /** A downloader that may hold the link already: its Queue is read before the next try. */
  unconfirmed: string | null;
  /** When it failed. */
  at: Date;
}

export interface SettledFailure<T> {
  /** What `write` returned. */
  written: T;
  record: FailureRecord;
  /** Why it was given up; null when it is tried again at record.nextAttemptAt. */
  gaveUp: GiveUpReason | null;
  /** Its dispatch.result's outcome fields. */
  result: Pick<DispatchResult, 'ok' | 'downloader' | 'error' | 'nextAttemptAt' | 'failed'>;
}

/**
 * What follows a failed try, wherever the link came from (the polls' claimed rows, and urgent
 * links that no downloader took): tried again later (backoff) or given up (the retry limits),
 * recorded by `write` (the ledger's statement for that kind of link, which writes the result
 * event with it), then counted. Nothing
 * is counted when the write throws: the caller retries or leaves the link to its lease.
 */
export async function settleFailedTry<T>(policy: FailurePolicy, tried: FailedTry, write: (record: FailureRecord, result: SettledFailure<T>['result']) => Promise<T>): Promise<SettledFailure<T>> {
  const { metrics, backoff, limits, random } = policy;
  const { failure, attempt, at: now } = tried;
  const firstFailedAt = tried.firstFailedAt ?? now;
  // A link that cannot be sent is given up as a refused one is: counted under its own kind.
  const decision = tried.giveUp
    ? ({ action: 'fail', why: 'refused' } as const)
    : decideAfterFailure({ kind: failure.kind, attempts: attempt, ...limits, firstFailedAt, now, baseMs: backoff.baseMs, capMs: backoff.capMs, random });
  const nextAttemptAt = decision.action === 'retry' ? decision.nextAttemptAt : null;
  const record: FailureRecord = {
    attempts: attempt,
    lastError: failure.message,
    kind: failure.kind,
    reason: failure.reason ?? null,
    nextAttemptAt,
    firstFailedAt,
    unconfirmedDownloader: tried.unconfirmed,
  };
  const result: SettledFailure<T>['result'] = { ok: false, downloader: null, error: { kind: failure.kind, message: failure.message }, nextAttemptAt: nextAttemptAt?.toISOString() ?? null, failed: nextAttemptAt === null };
  // The result is written with the record (the outbox), so it is known before.
  const written = await write(record, result);
  metrics.failures.inc({ reason: failure.kind });
  const gaveUp = decision.action === 'fail' ? decision.why : null;
  if (gaveUp !== null) metrics.givenUp.inc({ reason: gaveUp !== 'refused' ? `gave_up_${gaveUp}` : failure.kind });
  return { written, record, gaveUp, result };
}
