import type { Redis } from 'ioredis';
import { DEAD_LETTER_FIELDS } from './consumer';
import { deadLetterKey, streamKey } from './event-def';

export interface ReplayOutcome {
  /** The stream the entries went back to, and the dead-letter stream they came from. */
  stream: string;
  deadLetterStream: string;
  /** Entries put back on the stream (and removed from the dead-letter stream). */
  replayed: number;
  /** Each replayed entry's event id (its idempotency key) and why it had been set aside. */
  entries: Array<{ eventId: string | null; error: string | null }>;
}

/** Entries read from the dead-letter stream per round trip. */
const PAGE = 100;

/**
 * Puts the entries set aside on `<stream>:dead` back on `<stream>`, oldest first: each as a new
 * entry with its original fields (event id, version, time, payload; the consumer's notes on
 * why it failed are dropped), appended and removed from the dead-letter stream in one MULTI,
 * so an entry is neither lost nor left in both places. Every consumer group of the stream
 * then gets it again, under the same event id (handlers are idempotent by it). `stream` is an
 * event type (`link.urgent`) or its full key (`<prefix>:link.urgent`). `dryRun` only lists.
 */
export async function replayDeadLetters(redis: Redis, prefix: string, stream: string, options: { dryRun?: boolean } = {}): Promise<ReplayOutcome> {
  const type = stream.startsWith(`${prefix}:`) ? stream.slice(prefix.length + 1) : stream;
  if (!/^[a-z][a-z0-9_.-]*$/.test(type)) throw new Error(`"${stream}" is not a stream name (an event type such as link.urgent)`);
  const key = streamKey(prefix, type);
  const dead = deadLetterKey(prefix, type);
  const outcome: ReplayOutcome = { stream: key, deadLetterStream: dead, replayed: 0, entries: [] };
  let after = '-';
  for (;;) {
    const page = (await redis.xrange(dead, after, '+', 'COUNT', PAGE)) as Array<[string, string[]]>;
    if (page.length === 0) return outcome;
    for (const [deadId, flat] of page) {
      const original: string[] = [];
      let eventId: string | null = null;
      let error: string | null = null;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const [name, value] = [flat[i]!, flat[i + 1]!];
        if (name === 'error') error = value;
        if (DEAD_LETTER_FIELDS.has(name)) continue;
        if (name === 'id') eventId = value;
        original.push(name, value);
      }
      outcome.entries.push({ eventId, error });
      if (options.dryRun) continue;
      if (original.length === 0) throw new Error(`dead-letter entry ${deadId} of ${dead} has no fields of its own to replay`);
      const results = await redis.multi().xadd(key, '*', ...original).xdel(dead, deadId).exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error(`replaying ${deadId}: transaction aborted`);
      outcome.replayed++;
    }
    after = `(${page[page.length - 1]![0]}`;
  }
}
