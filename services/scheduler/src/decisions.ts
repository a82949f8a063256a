// The scheduler's pure decisions: no I/O, no clock, no randomness of their own.
import type { HandOver, QueuedLink } from '@dwld/contract';
import { formatDestination, qualityToMaxQuality, type DispatchFailureKind } from '@dwld/domain';
import { errorMessage } from '@dwld/errors';

/** What a hand-over needs to know about a link, whether it comes from a row or a link.urgent event. */
export interface DispatchableLink {
  url: string;
  host: string;
  userId: string;
  username: string | null;
  quality: string;
  folder: string | null;
}

export type RequestPlan = { ok: true; request: HandOver } | { ok: false; message: string };

/**
 * The hand-over of a link: its destination as the deployed downloaders expect it
 * ("[username] Folder" or the username) and `maxQuality` (`max`: 10000, the Go bot's "best").
 * A malformed quality cannot be sent at all.
 */
export function planRequest(link: DispatchableLink): RequestPlan {
  let maxQuality: number;
  try {
    maxQuality = qualityToMaxQuality(link.quality);
  } catch (err) {
    return { ok: false, message: errorMessage(err) };
  }
  const destination = formatDestination({ username: link.username, userId: link.userId, folder: link.folder });
  return { ok: true, request: { url: link.url, destination, maxQuality } };
}

/**
 * The entry of a link in a downloader's queue that says where it stands: a held one if any
 * (waiting or in work), else a finished one (downloaded, kept until the history is cleaned);
 * undefined when the link is not there.
 */
export function findInQueue(queue: readonly QueuedLink[], url: string): QueuedLink | undefined {
  let finished: QueuedLink | undefined;
  for (const entry of queue) {
    if (entry.url !== url) continue;
    if (entry.stage === 'held') return entry;
    finished ??= entry;
  }
  return finished;
}

/** When a link is given up (see decideAfterFailure). */
export interface RetryLimits {
  maxRefusals: number;
  maxAttempts: number;
  giveUpAfterMs: number;
}

/** How much of a lease is kept free at its end: enough to record the outcome before it runs out. */
export function leaseMarginMs(leaseMs: number): number {
  return Math.min(2_000, Math.max(100, Math.floor(leaseMs / 10)));
}

/**
 * Whether one more downloader call may start for a claimed link: the call, with its deadline,
 * and the recording of its outcome must end before the lease does, or another replica could
 * take the link while it is still being handed over.
 */
export function callFitsLease(nowMs: number, leaseEndsAtMs: number, deadlineMs: number, marginMs: number): boolean {
  return nowMs + deadlineMs + marginMs <= leaseEndsAtMs;
}

export interface CallFailure {
  downloader: string;
  kind: DispatchFailureKind;
  /** Technical: who, where, which status (admins and logs). */
  message: string;
  /** The downloader's own words, when it answered (a refusal's reason). */
  reason?: string | null;
}

export interface AttemptFailure {
  kind: DispatchFailureKind;
  message: string;
  /** What the person is told besides the kind: the first refusing downloader's own words. */
  reason?: string | null;
}

/** At most this much of a downloader's own words is kept for the person. */
export const MAX_REASON_LENGTH = 300;

export const MAX_ERROR_LENGTH = 1000;

export function truncate(text: string, max = MAX_ERROR_LENGTH): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * One attempt's failure, from the failed calls in it and the eligible downloaders left untried:
 * - no eligible downloader at all: no_downloader;
 * - every eligible downloader was tried and refused the link: refused (counts towards MAX_REFUSALS);
 * - any downloader unreachable, gone meanwhile, or left untried: unavailable (retry later);
 * - otherwise (only internal errors, maybe with refusals): internal, with the first downloader's own
 *   words (the deployed downloaders answer UNKNOWN, with a text, for every error).
 */
export function summariseAttempt(host: string, eligible: number, failures: readonly CallFailure[]): AttemptFailure {
  if (eligible === 0) return { kind: 'no_downloader', message: `no downloader takes links from ${host}` };
  const untried = eligible - failures.length;
  const details = failures.map((f) => `${f.downloader}: ${f.message}`);
  if (untried > 0) details.push(`${untried} downloader(s) not tried before the claim ran out`);
  const message = truncate(details.join('; '));
  if (untried === 0 && failures.every((f) => f.kind === 'refused')) {
    const reason = failures.find((f) => f.reason)?.reason;
    return { kind: 'refused', message, ...(reason ? { reason: truncate(reason, MAX_REASON_LENGTH) } : {}) };
  }
  if (untried > 0 || failures.some((f) => f.kind === 'unavailable' || f.kind === 'no_downloader')) return { kind: 'unavailable', message };
  // The deployed downloaders answer UNKNOWN (internal) with their own words for every error: the person is told them.
  const reason = failures.find((f) => f.kind === 'internal' && f.reason)?.reason;
  return { kind: 'internal', message, ...(reason ? { reason: truncate(reason, MAX_REASON_LENGTH) } : {}) };
}

/**
 * The event id of one attempt's dispatch.result: the same for a link and attempt number
 * wherever and however often it is published, so consumers recognise duplicates.
 */
export function resultEventId(linkId: number, attempt: number): string {
  return `dispatch.result:${linkId}:${attempt}`;
}

/** The event id of the result of a link.urgent dispatched straight from the event. */
export function urgentResultEventId(urgentEventId: string): string {
  return `dispatch.result:urgent:${urgentEventId}`;
}
