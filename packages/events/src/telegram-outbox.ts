/**
 * The gateway's Telegram outbox as other programs see it: the BullMQ queue every message the
 * bot sends, edits or deletes goes through (services/bot-gateway/src/telegram/outbox.ts). Shared
 * so that a program outside the gateway (the Go importer) can hand it a deletion the gateway's
 * own worker then carries out, with the same queue name, job name, id and options.
 */

/** The BullMQ queue's name; its keys live under STREAM_PREFIX (BullMQ's `prefix`). */
export const OUTBOX_QUEUE = 'telegram-outbox';

/** A message to delete; the job's name is its kind, 'delete'. */
export interface OutboxDeleteJob {
  kind: 'delete';
  chatId: string;
  messageId: number;
}

/** The id of the job that deletes one message: a second request for the same message is dropped by BullMQ. */
export function deleteJobId(chatId: string, messageId: number): string {
  return `delete-${chatId}-${messageId}`;
}

/**
 * The options every outbox job is added with (the queue's default job options): retried with
 * the gateway worker's own capped backoff (type 'telegram') for as long as its
 * TELEGRAM_GIVE_UP_AFTER_S allows (the attempts are not the limit: the time is), and kept a while
 * once done so that its id, an idempotency key, is still recognised.
 */
export const OUTBOX_JOB_OPTIONS = {
  attempts: 1_000_000,
  backoff: { type: 'telegram' },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;
