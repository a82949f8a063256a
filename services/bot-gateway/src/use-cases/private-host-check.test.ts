import { silentLogger } from '@dwld/logger';
import { deferred, waitFor } from '@dwld/testkit';
import type { HostResolution, HostResolver } from '../dns/host-resolver';
import { PrivateHostCheck, type HostLookupResult } from './private-host-check';

/** The resolver port, answered by the test: each lookup waits for the test to settle it. */
class HeldResolver implements HostResolver {
  readonly pending: Array<{ host: string; answer: (resolution: HostResolution) => void; fail: (err: Error) => void }> = [];
  resolve(host: string): Promise<HostResolution> {
    const d = deferred<HostResolution>();
    this.pending.push({ host, answer: d.resolve, fail: d.reject });
    return d.promise;
  }
  next() {
    const lookup = this.pending.shift();
    if (!lookup) throw new Error('no lookup waiting');
    return lookup;
  }
}

function setUp() {
  const resolver = new HeldResolver();
  let now = 1_000_000;
  const results: HostLookupResult[] = [];
  const check = new PrivateHostCheck({ resolver, cacheMs: 60_000, unresolvedCacheMs: 10_000, maxEntries: 3, logger: silentLogger(), now: () => now, onLookup: (r) => results.push(r) });
  return { resolver, check, results, advance: (ms: number) => (now += ms) };
}

describe('PrivateHostCheck', () => {
  it('says inward only when every address of a complete answer is not public', async () => {
    const { resolver, check, results } = setUp();
    const cases: Array<[HostResolution, boolean]> = [
      [{ addresses: ['127.0.0.1', '::1'], complete: true }, true],
      [{ addresses: ['169.254.169.254'], complete: true }, true],
      [{ addresses: ['::ffff:10.1.2.3'], complete: true }, true],
      [{ addresses: ['10.0.0.1', '93.184.215.14'], complete: true }, false],
      // The other family failed: its public address may be the one missing.
      [{ addresses: ['127.0.0.1'], complete: false }, false],
      [{ addresses: [], complete: true, failure: 'ENOTFOUND' }, false],
      [{ addresses: [], complete: false, failure: 'ETIMEOUT' }, false],
    ];
    for (const [i, [resolution, inward]] of cases.entries()) {
      const verdict = check.resolvesInward(`host${i}.test`);
      resolver.next().answer(resolution);
      expect(await verdict).toBe(inward);
    }
    expect(results).toEqual(['private', 'private', 'private', 'public', 'public', 'unresolved', 'unresolved']);
  });

  it('never looks an IP literal up (validateLink judges those)', async () => {
    const { resolver, check } = setUp();
    expect(await check.resolvesInward('93.184.215.14')).toBe(false);
    expect(await check.resolvesInward('::1')).toBe(false);
    expect(resolver.pending).toEqual([]);
  });

  it('shares a lookup in progress and keeps its verdict for the cache time', async () => {
    const { resolver, check, advance } = setUp();
    const first = check.resolvesInward('inward.test');
    const second = check.resolvesInward('inward.test');
    expect(resolver.pending).toHaveLength(1);
    resolver.next().answer({ addresses: ['127.0.0.1'], complete: true });
    expect([await first, await second]).toEqual([true, true]);
    advance(59_999);
    expect(await check.resolvesInward('inward.test')).toBe(true);
    expect(resolver.pending).toHaveLength(0);
  });

  it('past the cache time, still gives the verdict while one fresh lookup runs, then the fresh one', async () => {
    const { resolver, check, advance } = setUp();
    const first = check.resolvesInward('moving.test');
    resolver.next().answer({ addresses: ['127.0.0.1'], complete: true });
    expect(await first).toBe(true);
    advance(60_000);
    expect(await check.resolvesInward('moving.test')).toBe(true);
    expect(await check.resolvesInward('moving.test')).toBe(true);
    expect(resolver.pending).toHaveLength(1);
    resolver.next().answer({ addresses: ['93.184.215.14'], complete: true });
    await waitFor(async () => (await check.resolvesInward('moving.test')) === false, { what: 'the fresh verdict' });
    expect(resolver.pending).toHaveLength(0);
  });

  it('waits for a fresh lookup once a verdict is twice the cache time old', async () => {
    const { resolver, check, advance } = setUp();
    const first = check.resolvesInward('old.test');
    resolver.next().answer({ addresses: ['127.0.0.1'], complete: true });
    expect(await first).toBe(true);
    advance(120_000);
    const again = check.resolvesInward('old.test');
    resolver.next().answer({ addresses: ['93.184.215.14'], complete: true });
    expect(await again).toBe(false);
  });

  it('keeps "could not resolve" for the shorter time', async () => {
    const { resolver, check, advance } = setUp();
    const first = check.resolvesInward('slow.test');
    resolver.next().answer({ addresses: [], complete: false, failure: 'ETIMEOUT' });
    expect(await first).toBe(false);
    advance(9_999);
    expect(await check.resolvesInward('slow.test')).toBe(false);
    expect(resolver.pending).toHaveLength(0);
    advance(1);
    void check.resolvesInward('slow.test');
    expect(resolver.pending).toHaveLength(1);
  });

  it('does not refuse when the resolver itself throws', async () => {
    const { resolver, check, results } = setUp();
    const verdict = check.resolvesInward('broken.test');
    resolver.next().fail(new Error('resolver bug'));
    expect(await verdict).toBe(false);
    expect(results).toEqual(['unresolved']);
  });

  it('warms several hosts at once and remembers at most maxEntries names, forgetting the oldest', async () => {
    const { resolver, check } = setUp();
    check.warm(['a.test', 'b.test', 'c.test']);
    expect(resolver.pending.map((p) => p.host)).toEqual(['a.test', 'b.test', 'c.test']);
    for (const lookup of resolver.pending.splice(0)) lookup.answer({ addresses: ['127.0.0.1'], complete: true });
    expect(await check.resolvesInward('a.test')).toBe(true);
    const d = check.resolvesInward('d.test');
    resolver.next().answer({ addresses: ['127.0.0.1'], complete: true });
    await d;
    // a.test went to make room: it is looked up again.
    void check.resolvesInward('a.test');
    expect(resolver.pending.map((p) => p.host)).toEqual(['a.test']);
  });
});
