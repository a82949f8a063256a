import { isIP } from 'node:net';
import { resolvesOnlyToPrivate } from '@dwld/domain';
import { errorMessage } from '@dwld/errors';
import type { Logger } from '@dwld/logger';
import type { HostResolver } from '../dns/host-resolver';

/** What one lookup concluded (for metrics). */
export type HostLookupResult = 'private' | 'public' | 'unresolved';

export interface PrivateHostCheckOptions {
  resolver: HostResolver;
  /** How long a resolved name's verdict is kept (DNS_CACHE_S). */
  cacheMs: number;
  /** How long "could not resolve" is kept: shorter, the next answer may well come. */
  unresolvedCacheMs: number;
  /** Names remembered at most; the oldest go first. */
  maxEntries?: number;
  logger: Logger;
  now?: () => number;
  onLookup?: (result: HostLookupResult) => void;
}

interface Entry {
  /** Settles with whether the name leads inward; shared by every link asking meanwhile. */
  verdict: Promise<boolean>;
  settled: boolean;
  /** Fresh until then (Infinity while the lookup runs). */
  until: number;
  /** Past `until` and before this, the verdict is still given while a fresh lookup runs. */
  staleUntil: number;
  /** The lookup that will take this entry's place. */
  refresh?: Entry;
}

/**
 * Whether a link's host name leads only inward: every address it resolves to is private,
 * loopback, link-local or otherwise not public (IP literals are judged by validateLink, not
 * here). A name that cannot be resolved (no such name, a timeout, no network) does not: an
 * unresolved name is no refusal. Verdicts are cached (unresolved names for less time) and a
 * lookup in progress is shared, so a burst of links to one host costs one lookup; once a verdict
 * is due for renewal it is still given, for as long again, while the new lookup runs, so links
 * to a busy host never wait on DNS after the first. `warm` starts a message's lookups at once
 * rather than one after the other.
 */
export class PrivateHostCheck {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(private readonly options: PrivateHostCheckOptions) {
    this.now = options.now ?? Date.now;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Starts looking these hosts up (nothing awaited; resolvesInward then finds them in progress or done). */
  warm(hosts: Iterable<string>): void {
    for (const host of hosts) void this.resolvesInward(host);
  }

  resolvesInward(host: string): Promise<boolean> {
    if (isIP(host) !== 0) return Promise.resolve(false);
    const now = this.now();
    const cached = this.entries.get(host);
    if (cached && now < cached.until) return cached.verdict;
    if (cached && cached.settled && now < cached.staleUntil) {
      if (!cached.refresh) {
        const fresh = this.lookUp(host);
        cached.refresh = fresh;
        void fresh.verdict.then(() => {
          if (this.entries.get(host) === cached) this.remember(host, fresh);
        });
      }
      return cached.verdict;
    }
    const entry = this.lookUp(host);
    this.remember(host, entry);
    return entry.verdict;
  }

  private remember(host: string, entry: Entry): void {
    this.entries.delete(host);
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(host, entry);
  }

  private lookUp(host: string): Entry {
    const entry: Entry = { verdict: Promise.resolve(false), settled: false, until: Number.POSITIVE_INFINITY, staleUntil: Number.POSITIVE_INFINITY };
    entry.verdict = this.judge(host).then(({ inward, result }) => {
      const keepMs = result === 'unresolved' ? this.options.unresolvedCacheMs : this.options.cacheMs;
      entry.until = this.now() + keepMs;
      entry.staleUntil = entry.until + keepMs;
      entry.settled = true;
      this.options.onLookup?.(result);
      return inward;
    });
    return entry;
  }

  private async judge(host: string): Promise<{ inward: boolean; result: HostLookupResult }> {
    const { resolver, logger } = this.options;
    try {
      const found = await resolver.resolve(host);
      // An incomplete answer (one family failed) may be missing the public address: no verdict from half of it.
      const inward = found.complete && resolvesOnlyToPrivate(found.addresses);
      const result: HostLookupResult = inward ? 'private' : found.addresses.length > 0 ? 'public' : 'unresolved';
      if (inward) logger.info('link host resolves only to private addresses', { host, addresses: found.addresses });
      else if (result === 'unresolved') logger.debug('link host not resolved: not refused', { host, failure: found.failure });
      return { inward, result };
    } catch (err) {
      // The port promises not to reject; a bug there must not refuse links either.
      logger.warn('link host lookup failed: not refused', { host, error: errorMessage(err) });
      return { inward: false, result: 'unresolved' };
    }
  }
}
