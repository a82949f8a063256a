import { isIP } from 'node:net';

/**
 * A bound on work in flight, without a queue: a slot now, or none. Whoever is refused is told
 * at once (RESOURCE_EXHAUSTED) rather than waiting in memory, so a burst of calls can never
 * pile up work (and heap) behind a slow database.
 */
export class InFlightLimit {
  private taken = 0;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('InFlightLimit needs a max of at least 1');
  }

  /** A release function when a slot was free (call it once, when the work is done), else undefined. */
  tryAcquire(): (() => void) | undefined {
    if (this.taken >= this.max) return undefined;
    this.taken += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.taken -= 1;
    };
  }

  inFlight(): number {
    return this.taken;
  }
}

export interface PeerRateLimiterOptions {
  /** Tokens a peer gains per second. */
  perSecond: number;
  /** Tokens a peer may hold: the burst it may send at once. */
  burst: number;
  /**
   * Peers tracked at most. A peer whose bucket is full is the same as one never seen, so those
   * are dropped first; past that, the peers least recently heard from (a flood from many
   * addresses cannot grow this map without bound).
   */
  maxPeers?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket per peer: `perSecond` calls a second on average, `burst` at once. */
export class PeerRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly maxPeers: number;

  constructor(private readonly options: PeerRateLimiterOptions) {
    if (!(options.perSecond > 0) || !(options.burst >= 1)) throw new RangeError('PeerRateLimiter needs perSecond > 0 and burst >= 1');
    this.now = options.now ?? Date.now;
    this.maxPeers = options.maxPeers ?? 10_000;
  }

  /** Takes one token from this peer's bucket; false when it has none left (the call is refused). */
  take(peer: string): boolean {
    const now = this.now();
    const bucket = this.buckets.get(peer);
    const tokens = bucket ? this.refilled(bucket, now) : this.options.burst;
    // Re-inserted on every call: the map's order is then "least recently heard from first".
    this.buckets.delete(peer);
    if (tokens < 1) {
      this.buckets.set(peer, { tokens, at: now });
      return false;
    }
    this.buckets.set(peer, { tokens: tokens - 1, at: now });
    if (this.buckets.size > this.maxPeers) this.shrink(now);
    return true;
  }

  /** Peers currently tracked (for tests and metrics). */
  size(): number {
    return this.buckets.size;
  }

  private refilled(bucket: Bucket, now: number): number {
    const elapsed = Math.max(0, now - bucket.at) / 1000;
    return Math.min(this.options.burst, bucket.tokens + elapsed * this.options.perSecond);
  }

  private shrink(now: number): void {
    for (const [peer, bucket] of this.buckets) {
      if (this.refilled(bucket, now) >= this.options.burst) this.buckets.delete(peer);
    }
    for (const peer of this.buckets.keys()) {
      if (this.buckets.size <= this.maxPeers) break;
      this.buckets.delete(peer);
    }
  }
}

/**
 * The key a peer's rate is counted under: its IPv4 address, or the /64 prefix of its IPv6
 * address (one host or site holds a whole /64, so counting single IPv6 addresses would give it
 * billions of buckets). Undefined when the call has no IP address (a Unix socket): such calls
 * share one key.
 */
export function rateKeyOf(address: string | undefined): string {
  if (address === undefined) return 'local';
  if (isIP(address) !== 6) return address;
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address (IPv4-style tails read as two groups). */
function expandIpv6(address: string): string[] {
  let text = address.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const middle = tail === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...middle, ...right].map((group) => group.replace(/^0+(?=.)/, ''));
}

/**
 * Says whether a refusal is worth a log line: the first of its kind in each `intervalMs`, with
 * the count of those kept quiet since the last line. A flood of refused calls writes a line
 * every interval, not one per call; a lone refusal (a misconfigured downloader) is always
 * written.
 */
export class RefusalLog {
  private readonly last = new Map<string, { at: number; quiet: number }>();
  private readonly now: () => number;

  constructor(
    private readonly intervalMs: number,
    now?: () => number,
  ) {
    this.now = now ?? Date.now;
  }

  /** Undefined: keep quiet. Else write the line, with `quiet` refusals of this kind not logged since the last one. */
  shouldLog(kind: string): { quiet: number } | undefined {
    const now = this.now();
    const entry = this.last.get(kind);
    if (entry && now - entry.at < this.intervalMs) {
      entry.quiet += 1;
      return undefined;
    }
    this.last.set(kind, { at: now, quiet: 0 });
    return { quiet: entry?.quiet ?? 0 };
  }
}
