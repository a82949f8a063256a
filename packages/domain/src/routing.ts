import { isIP } from 'node:net';

/** Patterns that let a downloader take links from any host (the registry accepts the same three). */
export const WILDCARD_PATTERNS: ReadonlySet<string> = new Set(['*', 'any', 'all']);

/** What routing needs to know about a downloader; callers pass their own richer records. */
export interface RoutableDownloader {
  name: string;
  patterns: string[];
  healthy: boolean;
}

function normaliseName(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * True when the pattern is the host itself, one of its parent domains (`youtube.com` takes
 * `m.youtube.com`, never `notyoutube.com` or `youtube.com.evil.org`), or a wildcard.
 * An IP address matches only itself. Case-insensitive; a trailing dot on either side is ignored.
 */
export function matchesPattern(host: string, pattern: string): boolean {
  const wanted = normaliseName(pattern);
  if (WILDCARD_PATTERNS.has(wanted)) return true;
  const name = normaliseName(host);
  if (wanted === '' || name === '') return false;
  if (name === wanted) return true;
  // An IP address has no parent domains: 10.0.0.1 does not sit under "0.0.1".
  return isIP(name) === 0 && name.endsWith(`.${wanted}`);
}

export function isEligible(host: string, downloader: RoutableDownloader): boolean {
  return downloader.patterns.some((pattern) => matchesPattern(host, pattern));
}

/**
 * The downloaders that may take a link to `host`, in the order to try them: healthy ones,
 * then unhealthy ones (they may have recovered since the last health check). Within each
 * group a random one goes first, so load spreads; the rest follow it in the input's cyclic
 * order, so each one is equally often second, too. Empty: no downloader takes this host.
 * `random` is called once per group of two or more, healthy group first.
 */
export function planRoute<D extends RoutableDownloader>(host: string, downloaders: readonly D[], random: () => number): D[] {
  const eligible = downloaders.filter((downloader) => isEligible(host, downloader));
  const healthy = eligible.filter((downloader) => downloader.healthy);
  const unhealthy = eligible.filter((downloader) => !downloader.healthy);
  return [...rotateToRandomStart(healthy, random), ...rotateToRandomStart(unhealthy, random)];
}

function rotateToRandomStart<T>(items: readonly T[], random: () => number): T[] {
  if (items.length < 2) return [...items];
  const start = pickIndex(random(), items.length);
  return [...items.slice(start), ...items.slice(0, start)];
}

/** An index in [0, length) for a draw meant to lie in [0, 1); out-of-range or NaN draws are clamped. */
function pickIndex(draw: number, length: number): number {
  const index = Math.floor((Number.isFinite(draw) ? draw : 0) * length);
  return Math.min(length - 1, Math.max(0, index));
}

/**
 * What this process saw of each downloader lately: one that just failed to answer in time (or
 * could not be reached) is tried last for a while, even when its health checks pass — a
 * downloader that answers Healtheck but hangs on SetToQueue would otherwise cost every other
 * link a full deadline. A success, or the cool-down passing, lifts it.
 */
export class RecentFailures {
  private readonly failedAt = new Map<string, number>();

  constructor(private readonly coolDownMs: number) {}

  failed(name: string, nowMs: number): void {
    this.failedAt.set(name, nowMs);
  }

  succeeded(name: string): void {
    this.failedAt.delete(name);
  }

  isSuspect(name: string, nowMs: number): boolean {
    const at = this.failedAt.get(name);
    if (at === undefined) return false;
    if (nowMs - at < this.coolDownMs) return true;
    this.failedAt.delete(name);
    return false;
  }

  /** The list as routing should see it: suspects count as unhealthy. */
  demote<D extends RoutableDownloader>(downloaders: readonly D[], nowMs: number): D[] {
    return downloaders.map((d) => (d.healthy && this.isSuspect(d.name, nowMs) ? { ...d, healthy: false } : d));
  }
}
