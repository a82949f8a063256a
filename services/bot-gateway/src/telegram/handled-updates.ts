import type { Redis } from 'ioredis';
import { Batcher } from '@dwld/runtime';

// Marks many updates in one command: a pipeline would still be one client command per update.
const MARK_ALL = `
for i = 1, #KEYS do redis.call('SET', KEYS[i], '1', 'PX', ARGV[1]) end
return #KEYS
`;

/**
 * Which Telegram updates were handled to the end, shared by every replica. Telegram hands an
 * update out again when its receipt was not confirmed — the gateway crashed after handling it
 * but before its next getUpdates, or a webhook answer was lost — and handling it twice would
 * queue (and later dispatch) the same link twice once the first copy has left the queue.
 *
 * An update is marked only after it was handled, so a crash mid-way means it is handled again
 * rather than dropped. While Redis is away nothing is known and every update is handled.
 *
 * Lookups and marks of updates handled at the same time go to Redis together (one MGET, one
 * script), not as two commands per update.
 */
export class HandledUpdates {
  private readonly lookups: Batcher<number, boolean>;
  private readonly marks: Batcher<number, void>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Telegram keeps unconfirmed updates for 24 hours. */
    private readonly rememberMs = 24 * 3600 * 1000,
  ) {
    this.lookups = new Batcher(async (ids) => (await this.redis.mget(ids.map((id) => this.key(id)))).map((value) => value !== null), { maxBatch: 500 });
    this.marks = new Batcher(async (ids) => {
      await this.redis.eval(MARK_ALL, ids.length, ...ids.map((id) => this.key(id)), this.rememberMs);
      return ids.map(() => undefined);
    }, { maxBatch: 500 });
  }

  private key(updateId: number): string {
    return `${this.prefix}:tg-update:${updateId}`;
  }

  wasHandled(updateId: number): Promise<boolean> {
    return this.lookups.submit(updateId);
  }

  markHandled(updateId: number): Promise<void> {
    return this.marks.submit(updateId);
  }
}
