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
 * How closely a pattern fits a host, or null when it does not take it. The pattern must be the
 * host itself, one of its parent domains (`youtube.com` takes `m.youtube.com`, never
 * `notyoutube.com` or `youtube.com.evil.org`), or a wildcard. A wildcard scores 0; a name scores
 * the number of its labels, so the host itself scores highest, then its longer parents
 * (`music.youtube.com`: 3) before shorter ones (`youtube.com`: 2). An IP address matches only
 * itself. Case-insensitive; a trailing dot on either side and surrounding spaces are ignored.
 */
export function patternSpecificity(host: string, pattern: string): number | null {
  const wanted = normaliseName(pattern);
  if (WILDCARD_PATTERNS.has(wanted)) return 0;
  const name = normaliseName(host);
  if (wanted === '' || name === '') return null;
  if (name === wanted) return labelCount(wanted);
  // An IP address has no parent domains: 10.0.0.1 does not sit under "0.0.1".
  return isIP(name) === 0 && name.endsWith(`.${wanted}`) ? labelCount(wanted) : null;
}

function labelCount(name: string): number {
  return name.split('.').length;
}

/** True when the pattern is the host itself, one of its parent domains, or a wildcard (see patternSpecificity). */
export function matchesPattern(host: string, pattern: string): boolean {
  return patternSpecificity(host, pattern) !== null;
}

/** The downloader's best (most specific) matching pattern's score; null when none of its patterns takes the host. */
export function downloaderSpecificity(host: string, downloader: RoutableDownloader): number | null {
  let best: number | null = null;
  for (const pattern of downloader.patterns) {
    const score = patternSpecificity(host, pattern);
    if (score !== null && (best === null || score > best)) best = score;
  }
  return best;
}

export function isEligible(host: string, downloader: RoutableDownloader): boolean {
  return downloaderSpecificity(host, downloader) !== null;
}

/**
 * The downloaders that may take a link to `host`, in the order to try them:
 * 1. healthy ones, then unhealthy ones (they may have recovered since the last health check;
 *    RecentFailures demotes a downloader by marking it unhealthy). Health comes first because
 *    an unhealthy downloader would likely cost a full deadline before the next one is tried.
 * 2. Within each health group, by how specifically the downloader's best pattern fits the host
 *    (downloaderSpecificity): the host itself, then parent domains longest first, then wildcards.
 *    Downloaders that score the same form a tier.
 * 3. Within each tier a random one goes first, so load spreads among equals; the rest follow it
 *    in the input's cyclic order, so each one is equally often second, too.
 * Empty: no downloader takes this host. `random` is called once per tier of two or more, in the
 * order of the plan.
 */
export function planRoute<D extends RoutableDownloader>(host: string, downloaders: readonly D[], random: () => number): D[] {
  const ranked: Array<{ downloader: D; score: number }> = [];
  for (const downloader of downloaders) {
    const score = downloaderSpecificity(host, downloader);
    if (score !== null) ranked.push({ downloader, score });
  }
  const plan: D[] = [];
  for (const healthy of [true, false]) {
    const group = ranked.filter((entry) => Boolean(entry.downloader.healthy) === healthy);
    const scores = [...new Set(group.map((entry) => entry.score))].sort((a, b) => b - a);
    for (const score of scores) {
      const tier = group.filter((entry) => entry.score === score).map((entry) => entry.downloader);
      plan.push(...rotateToRandomStart(tier, random));
    }
  }
  return plan;
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
