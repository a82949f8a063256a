import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Batcher } from '@dwld/runtime';

// Marks many updates in one command: a pipeline would still be one client command per update.
// KEYS: the updates' keys; ARGV[1]: how long to remember; ARGV[2…]: each update's fingerprint.
const MARK_ALL = `
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', ARGV[1]) end
return #KEYS
`;

/** What is remembered of a handled update: its date (for the logs) and a digest of everything else in it. */
export interface UpdateFingerprint {
  /** Seconds since the epoch, as Telegram dates messages and edits; null for updates without one (button presses). */
  date: number | null;
  /** `<date or ->:<digest>`, stored as the mark's value. */
  value: string;
}

/**
 * A redelivered update is the very same update: same id, same content. Its fingerprint is its
 * date and a digest of its content without the id, so an update that merely carries an id seen
 * before (a Bot API server whose numbering started over) is told apart from a redelivery.
 */
export function fingerprintOf(update: { update_id: number } & Record<string, unknown>): UpdateFingerprint {
  const { update_id: _id, ...content } = update;
  const message = (content.message ?? content.edited_message) as { date?: unknown; edit_date?: unknown } | undefined;
  const raw = message ? (typeof message.edit_date === 'number' ? message.edit_date : message.date) : undefined;
  const date = typeof raw === 'number' && Number.isFinite(raw) ? raw : null;
  const digest = createHash('sha1').update(JSON.stringify(content)).digest('base64url').slice(0, 16);
  return { date, value: `${date ?? '-'}:${digest}` };
}

export type Redelivery =
  /** Never handled (or forgotten): handle it. */
  | { verdict: 'new' }
  /** The same update again: skip it. */
  | { verdict: 'redelivered' }
  /** Another update under an id handled before: handle it (skipping would lose what it carries). */
  | { verdict: 'reused'; rememberedDate: number | null };

/** What to do with an update given what is remembered under its id. */
export function judgeRedelivery(remembered: string | null, fingerprint: UpdateFingerprint): Redelivery {
  if (remembered === null) return { verdict: 'new' };
  // Marks written before fingerprints were kept say only "handled".
  if (remembered === '1' || remembered === fingerprint.value) return { verdict: 'redelivered' };
  const date = Number(remembered.slice(0, remembered.indexOf(':')));
  return { verdict: 'reused', rememberedDate: Number.isFinite(date) && remembered.indexOf(':') > 0 ? date : null };
}

/**
 * Which Telegram updates were handled to the end, shared by every replica. Telegram hands an
 * update out again when its receipt was not confirmed — the gateway crashed after handling it
 * but before its next getUpdates, or a webhook answer was lost — and handling it twice would
 * queue (and later dispatch) the same link twice once the first copy has left the queue.
 *
 * An update is marked only after it was handled, so a crash mid-way means it is handled again
 * rather than dropped. While Redis is away nothing is known and every update is handled. The
 * mark holds the update's fingerprint, so a different update under a known id is not taken
 * for a redelivery (judgeRedelivery).
 *
 * Lookups and marks of updates handled at the same time go to Redis together (one MGET, one
 * script), not as two commands per update.
 */
export class HandledUpdates {
  private readonly lookups: Batcher<number, string | null>;
  private readonly marks: Batcher<{ updateId: number; fingerprint: string }, void>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Telegram keeps unconfirmed updates for 24 hours. */
    private readonly rememberMs = 24 * 3600 * 1000,
  ) {
    this.lookups = new Batcher((ids) => this.redis.mget(ids.map((id) => this.key(id))), { maxBatch: 500 });
    this.marks = new Batcher(async (marks) => {
      await this.redis.eval(MARK_ALL, marks.length, ...marks.map((m) => this.key(m.updateId)), this.rememberMs, ...marks.map((m) => m.fingerprint));
      return marks.map(() => undefined);
    }, { maxBatch: 500 });
  }

  private key(updateId: number): string {
    return `${this.prefix}:tg-update:${updateId}`;
  }

  /** The fingerprint remembered for this update id; null when it was not handled (or is forgotten). */
  remembered(updateId: number): Promise<string | null> {
    return this.lookups.submit(updateId);
  }

  markHandled(updateId: number, fingerprint: UpdateFingerprint): Promise<void> {
    return this.marks.submit({ updateId, fingerprint: fingerprint.value });
  }
}
