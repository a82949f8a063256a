import type { Redis } from 'ioredis';

// One counter per person per window; the first hit sets the expiry. Atomic, so replicas share it.
const HIT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return { count, redis.call('PTTL', KEYS[1]) }
`;

export interface RateDecision {
  allowed: number;
  /** When the window resets, for the polite answer. */
  retryAfterMs: number;
}

/** A fixed-window limit on links per person (LINKS_PER_MINUTE), shared by every gateway replica. */
export class LinkRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly perWindow: number,
    private readonly windowMs = 60_000,
  ) {}

  /** Takes up to `wanted` links from this person's allowance; says how many may go in. */
  async take(userId: string, wanted: number): Promise<RateDecision> {
    const key = `${this.prefix}:link-rate:${userId}`;
    const [count, ttl] = (await this.redis.eval(HIT, 1, key, wanted, this.windowMs)) as [number, number];
    const before = count - wanted;
    const allowed = Math.max(0, Math.min(wanted, this.perWindow - before));
    return { allowed, retryAfterMs: ttl > 0 ? ttl : this.windowMs };
  }
}
