import type { Redis } from 'ioredis';

/**
 * Things that may happen once, whichever replica and however often a person presses: the first
 * to claim a key wins, for `ttlMs`.
 */
export class OnceClaims {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async claim(key: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:once:${key}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
  }
}
