import type { Redis } from 'ioredis';

/**
 * Which Telegram updates were handled to the end, shared by every replica. Telegram hands an
 * update out again when its receipt was not confirmed — the gateway crashed after handling it
 * but before its next getUpdates, or a webhook answer was lost — and handling it twice would
 * queue (and later dispatch) the same link twice once the first copy has left the queue.
 *
 * An update is marked only after it was handled, so a crash mid-way means it is handled again
 * rather than dropped. While Redis is away nothing is known and every update is handled.
 */
export class HandledUpdates {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Telegram keeps unconfirmed updates for 24 hours. */
    private readonly rememberMs = 24 * 3600 * 1000,
  ) {}

  private key(updateId: number): string {
    return `${this.prefix}:tg-update:${updateId}`;
  }

  async wasHandled(updateId: number): Promise<boolean> {
    return (await this.redis.exists(this.key(updateId))) === 1;
  }

  async markHandled(updateId: number): Promise<void> {
    await this.redis.set(this.key(updateId), '1', 'PX', this.rememberMs);
  }
}
