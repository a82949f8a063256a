import fc from 'fast-check';
import { downloaderSpecificity, isEligible, matchesPattern, patternSpecificity, planRoute, type RoutableDownloader, RecentFailures } from './routing';

describe('matchesPattern', () => {
  it.each([
    ['youtube.com', 'youtube.com', true],
    ['www.youtube.com', 'youtube.com', true],
    ['m.youtube.com', 'youtube.com', true],
    ['a.b.youtube.com', 'youtube.com', true],
    ['WWW.YouTube.COM', 'youtube.com', true],
    ['www.youtube.com.', 'YOUTUBE.COM', true],
    ['youtube.com', 'youtube.com.', true],
    ['notyoutube.com', 'youtube.com', false],
    ['youtube.com.evil.org', 'youtube.com', false],
    ['youtube.com', 'www.youtube.com', false],
    ['youtube.co', 'youtube.com', false],
    ['anything.example', '*', true],
    ['anything.example', 'any', true],
    ['anything.example', 'ALL', true],
    ['example.com', '', false],
    ['', 'example.com', false],
    ['10.0.0.1', '10.0.0.1', true],
    ['10.0.0.1', '0.0.1', false],
  ])('%s against %s: %s', (host, pattern, expected) => {
    expect(matchesPattern(host, pattern)).toBe(expected);
  });

  it('matches exactly the host and its parent domains', () => {
    // Labels start with a letter, so no generated host is an IP address (those match only themselves).
    const label = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/);
    const labels = fc.array(label, { minLength: 1, maxLength: 5 });
    // Half the patterns are a tail of the host's labels, so both answers are well covered.
    const hostAndPattern = labels.chain((hostLabels) =>
      fc.tuple(fc.constant(hostLabels), fc.oneof(fc.integer({ min: 1, max: hostLabels.length }).map((n) => hostLabels.slice(-n)), labels)),
    );
    fc.assert(
      fc.property(hostAndPattern, fc.boolean(), ([hostLabels, patternLabels], upper) => {
        const host = hostLabels.join('.');
        const pattern = patternLabels.join('.');
        const isSuffix = patternLabels.length <= hostLabels.length && hostLabels.slice(-patternLabels.length).join('.') === pattern;
        expect(matchesPattern(upper ? host.toUpperCase() : host, pattern)).toBe(isSuffix);
      }),
    );
  });
});

describe('patternSpecificity', () => {
  it.each([
    ['a.music.youtube.com', 'a.music.youtube.com', 4],
    ['a.music.youtube.com', 'music.youtube.com', 3],
    ['a.music.youtube.com', 'youtube.com', 2],
    ['a.music.youtube.com', '*', 0],
    ['a.music.youtube.com', 'any', 0],
    ['a.music.youtube.com', 'all', 0],
    ['youtube.com', 'youtube.com', 2],
    ['YouTube.com.', ' youtube.COM', 2],
    ['youtu.be', 'youtu.be', 2],
    ['music.youtube.com', 'a.music.youtube.com', null],
    ['notyoutube.com', 'youtube.com', null],
    ['youtube.com.evil.org', 'youtube.com', null],
    ['10.0.0.1', '10.0.0.1', 4],
    ['10.0.0.1', '0.0.1', null],
    ['::1', '::1', 1],
    ['example.com', '', null],
  ])('%s against %j: %s', (host, pattern, expected) => {
    expect(patternSpecificity(host, pattern)).toBe(expected);
  });

  it('scores a downloader by its most specific matching pattern', () => {
    const downloader = { name: 'mixed', patterns: ['*', 'youtube.com', 'music.youtube.com', 'vk.com'], healthy: true };
    expect(downloaderSpecificity('a.music.youtube.com', downloader)).toBe(3);
    expect(downloaderSpecificity('www.youtube.com', downloader)).toBe(2);
    expect(downloaderSpecificity('example.org', downloader)).toBe(0);
    expect(downloaderSpecificity('example.org', { ...downloader, patterns: ['youtube.com'] })).toBeNull();
  });
});

type Downloader = RoutableDownloader & { id: number };
const names = (plan: readonly RoutableDownloader[]) => plan.map((downloader) => downloader.name);
/** Draws that land in each of n equal slices of [0, 1) once. */
const sliceDraws = (n: number) => Array.from({ length: n }, (_, slice) => (slice + 0.5) / n);

describe('planRoute', () => {
  const nas: Downloader = { id: 1, name: 'nas', patterns: ['youtube.com'], healthy: true };
  const cloud: Downloader = { id: 2, name: 'cloud', patterns: ['*'], healthy: true };
  const vk: Downloader = { id: 3, name: 'vk', patterns: ['vk.com'], healthy: true };
  const sleepy: Downloader = { id: 4, name: 'sleepy', patterns: ['youtube.com', 'vk.com'], healthy: false };

  it('returns nothing when no downloader takes the host', () => {
    expect(planRoute('example.org', [nas, vk], () => 0)).toEqual([]);
    expect(planRoute('example.org', [], () => 0)).toEqual([]);
  });

  it.each([0, 0.49, 0.5, 0.99])('with random() = %s tries the parent-domain match, then the wildcard, then the unhealthy one', (draw) => {
    const plan = planRoute('www.youtube.com', [sleepy, nas, vk, cloud], () => draw);
    expect(names(plan)).toEqual(['nas', 'cloud', 'sleepy']);
  });

  it('sends the sandbox links to the downloader that names their host, and only the rest to the catch-all', () => {
    const fleet = [
      { name: 'anything-box', patterns: ['*'], healthy: true },
      { name: 'video-nas', patterns: ['youtube.com', 'youtu.be', 'vimeo.com', 'rutube.ru', 'vk.com'], healthy: true },
    ];
    const specific = ['www.youtube.com', 'youtube.com', 'm.youtube.com', 'music.youtube.com', 'youtu.be', 'vimeo.com', 'player.vimeo.com', 'rutube.ru', 'vk.com', 'VK.COM.'];
    const other = ['example.org', 'notyoutube.com', 'youtube.com.evil.org', 'vimeo.co', 'ok.ru', '10.0.0.1'];
    for (const draw of [0, 0.5, 0.99]) {
      for (const host of specific) expect([host, names(planRoute(host, fleet, () => draw))]).toEqual([host, ['video-nas', 'anything-box']]);
      for (const host of other) expect([host, names(planRoute(host, fleet, () => draw))]).toEqual([host, ['anything-box']]);
    }
  });

  it('tries the host itself, then longer parent domains before shorter ones, then the wildcards', () => {
    const fleet = [
      { name: 'star', patterns: ['*'], healthy: true },
      { name: 'parent', patterns: ['youtube.com'], healthy: true },
      { name: 'all', patterns: ['ALL'], healthy: true },
      { name: 'exact', patterns: ['a.music.youtube.com'], healthy: true },
      { name: 'music', patterns: ['music.youtube.com'], healthy: true },
    ];
    expect(names(planRoute('a.music.youtube.com', fleet, () => 0))).toEqual(['exact', 'music', 'parent', 'star', 'all']);
    expect(names(planRoute('a.music.youtube.com', fleet, () => 0.99))).toEqual(['exact', 'music', 'parent', 'all', 'star']);
    expect(names(planRoute('b.music.youtube.com', fleet, () => 0))).toEqual(['music', 'parent', 'star', 'all']);
    expect(names(planRoute('www.youtube.com', fleet, () => 0.99))).toEqual(['parent', 'all', 'star']);
  });

  it('ranks a downloader by its most specific matching pattern', () => {
    const both = { name: 'both', patterns: ['*', 'music.youtube.com'], healthy: true };
    const yt = { name: 'yt', patterns: ['vk.com', 'youtube.com'], healthy: true };
    for (const draw of [0, 0.99]) {
      expect(names(planRoute('music.youtube.com', [yt, both], () => draw))).toEqual(['both', 'yt']);
      expect(names(planRoute('m.youtube.com', [both, yt], () => draw))).toEqual(['yt', 'both']);
      expect(names(planRoute('vk.com', [both, yt], () => draw))).toEqual(['yt', 'both']);
      expect(names(planRoute('example.org', [both, yt], () => draw))).toEqual(['both']);
    }
  });

  it('tries every healthy downloader before any unhealthy one, each group from most to least specific', () => {
    const fleet = [
      { name: 'sick-exact', patterns: ['music.youtube.com'], healthy: false },
      { name: 'star', patterns: ['*'], healthy: true },
      { name: 'sick-parent', patterns: ['youtube.com'], healthy: false },
      { name: 'sick-star', patterns: ['*'], healthy: false },
      { name: 'yt', patterns: ['youtube.com'], healthy: true },
    ];
    for (const draw of [0, 0.99]) {
      expect(names(planRoute('music.youtube.com', fleet, () => draw))).toEqual(['yt', 'star', 'sick-exact', 'sick-parent', 'sick-star']);
    }
  });

  it('never takes notyoutube.com or youtube.com.evil.org for youtube.com; an IP address only for itself', () => {
    expect(names(planRoute('notyoutube.com', [nas, cloud], () => 0))).toEqual(['cloud']);
    expect(names(planRoute('youtube.com.evil.org', [nas, cloud], () => 0))).toEqual(['cloud']);
    const ip = { name: 'ip', patterns: ['10.0.0.1'], healthy: true };
    const tail = { name: 'tail', patterns: ['0.0.1'], healthy: true };
    for (const draw of [0, 0.99]) expect(names(planRoute('10.0.0.1', [cloud, tail, ip], () => draw))).toEqual(['ip', 'cloud']);
  });

  it('draws once per tier of two or more, in the order of the plan', () => {
    const d = (name: string, pattern: string, healthy = true) => ({ name, patterns: [pattern], healthy });
    const fleet = [d('a', 'vk.com'), d('b', 'vk.com'), d('c', '*'), d('d', 'any'), d('e', 'vk.com', false), d('f', 'vk.com', false), d('g', '*', false)];
    const draws = [0.6, 0.1, 0.9];
    let calls = 0;
    const plan = planRoute('vk.com', fleet, () => draws[calls++]!);
    expect(calls).toBe(3);
    expect(names(plan)).toEqual(['b', 'a', 'c', 'd', 'f', 'e', 'g']);
    calls = 0;
    planRoute('vk.com', [d('a', 'vk.com'), d('c', '*')], () => draws[calls++]!);
    expect(calls).toBe(0);
  });

  it('keeps the cyclic order after the random first one', () => {
    const fleet = ['a', 'b', 'c', 'd'].map((name, id) => ({ id, name, patterns: ['*'], healthy: true }));
    expect(planRoute('x.example', fleet, () => 0.6).map((d) => d.name)).toEqual(['c', 'd', 'a', 'b']);
  });

  it('returns the callers own records', () => {
    expect(planRoute('vk.com', [vk], () => 0)[0]).toBe(vk);
  });

  it.each([Number.NaN, -1, 1, 7, Number.POSITIVE_INFINITY])('stays in range when random() returns %s', (draw) => {
    const other = { ...cloud, name: 'other' };
    const plan = planRoute('youtube.com', [nas, other, cloud], () => draw);
    expect(plan[0]).toBe(nas);
    expect(names(plan.slice(1)).sort()).toEqual(['cloud', 'other']);
  });

  const patternPool = ['*', 'any', 'all', 'youtube.com', 'www.youtube.com', 'a.www.youtube.com', 'vk.com', 'example.org', '10.0.0.1', '0.0.1'];
  const fleetArbitrary = fc.array(
    fc.record({
      name: fc.string({ maxLength: 4 }),
      patterns: fc.array(fc.constantFrom(...patternPool), { maxLength: 3 }),
      healthy: fc.boolean(),
    }),
    { maxLength: 8 },
  );
  const hostArbitrary = fc.constantFrom(
    'youtube.com', 'www.youtube.com', 'a.www.youtube.com', 'b.a.www.youtube.com', 'm.youtube.com', 'notyoutube.com', 'youtube.com.evil.org',
    'vk.com', 'example.org', 'other.net', '10.0.0.1',
  );

  /** The rule written out on its own, for the hosts and patterns above: wildcards 0, else the labels of a matching name. */
  function expectedScore(host: string, downloader: RoutableDownloader): number | null {
    const scores = downloader.patterns.flatMap((pattern) => {
      if (['*', 'any', 'all'].includes(pattern)) return [0];
      if (host === pattern) return [pattern.split('.').length];
      if (host !== '10.0.0.1' && host.endsWith(`.${pattern}`)) return [pattern.split('.').length];
      return [];
    });
    return scores.length === 0 ? null : Math.max(...scores);
  }
  /** Healthy before unhealthy, then more specific before less: plans must not decrease in this. */
  const rank = (host: string, downloader: RoutableDownloader) => (downloader.healthy ? 1000 : 0) + expectedScore(host, downloader)!;

  it('returns every eligible downloader exactly once, never an ineligible one, healthy ones first, each group from most to least specific', () => {
    fc.assert(
      fc.property(hostArbitrary, fleetArbitrary, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (host, fleet, draw) => {
        const plan = planRoute(host, fleet, () => draw);
        const eligible = fleet.filter((downloader) => expectedScore(host, downloader) !== null);
        expect(plan).toHaveLength(eligible.length);
        expect(new Set(plan).size).toBe(plan.length);
        for (const downloader of plan) expect(eligible).toContain(downloader);
        for (let i = 1; i < plan.length; i++) expect(rank(host, plan[i - 1]!)).toBeGreaterThanOrEqual(rank(host, plan[i]!));
      }),
    );
  });

  it('puts each member of a tier first, and second, for an equal share of draws; the first is always from the best tier', () => {
    fc.assert(
      fc.property(hostArbitrary, fleetArbitrary, (host, fleet) => {
        const eligible = fleet.filter((downloader) => expectedScore(host, downloader) !== null);
        const tiers = new Map<number, RoutableDownloader[]>();
        for (const downloader of eligible) tiers.set(rank(host, downloader), [...(tiers.get(rank(host, downloader)) ?? []), downloader]);
        const best = Math.max(...tiers.keys());
        for (const [tierRank, tier] of tiers) {
          const firsts = new Map<RoutableDownloader, number>();
          const seconds = new Map<RoutableDownloader, number>();
          for (const draw of sliceDraws(tier.length)) {
            const plan = planRoute(host, fleet, () => draw);
            if (tierRank === best) expect(tier).toContain(plan[0]);
            const inTier = plan.filter((downloader) => tier.includes(downloader));
            firsts.set(inTier[0]!, (firsts.get(inTier[0]!) ?? 0) + 1);
            if (inTier.length > 1) seconds.set(inTier[1]!, (seconds.get(inTier[1]!) ?? 0) + 1);
          }
          expect(new Set(firsts.keys())).toEqual(new Set(tier));
          expect([...firsts.values()].every((count) => count === 1)).toBe(true);
          if (tier.length > 1) {
            expect(new Set(seconds.keys())).toEqual(new Set(tier));
            expect([...seconds.values()].every((count) => count === 1)).toBe(true);
          }
        }
      }),
    );
  });

  it('agrees with isEligible and matchesPattern on who may take a host', () => {
    fc.assert(
      fc.property(hostArbitrary, fleetArbitrary, (host, fleet) => {
        const plan = planRoute(host, fleet, () => 0);
        expect(new Set(plan)).toEqual(new Set(fleet.filter((downloader) => isEligible(host, downloader))));
        for (const downloader of fleet) expect(isEligible(host, downloader)).toBe(downloader.patterns.some((pattern) => matchesPattern(host, pattern)));
      }),
    );
  });
});

describe('RecentFailures', () => {
  const list = [
    { name: 'hangs', patterns: ['*'], healthy: true },
    { name: 'fine', patterns: ['*'], healthy: true },
    { name: 'down', patterns: ['*'], healthy: false },
  ];

  it('demotes a downloader that just failed until a success or the cool-down', () => {
    const recent = new RecentFailures(30_000);
    expect(recent.demote(list, 0)).toEqual(list);
    recent.failed('hangs', 1_000);
    expect(recent.demote(list, 1_000).map((d) => [d.name, d.healthy])).toEqual([['hangs', false], ['fine', true], ['down', false]]);
    // Routing then tries it after the healthy ones, whatever the draw.
    expect(planRoute('x.com', recent.demote(list, 2_000), () => 0).map((d) => d.name)).toEqual(['fine', 'hangs', 'down']);
    expect(recent.isSuspect('hangs', 30_999)).toBe(true);
    expect(recent.isSuspect('hangs', 31_000)).toBe(false);
    recent.failed('hangs', 40_000);
    recent.succeeded('hangs');
    expect(recent.isSuspect('hangs', 40_001)).toBe(false);
  });

  it('leaves the input untouched', () => {
    const recent = new RecentFailures(1_000);
    recent.failed('fine', 0);
    recent.demote(list, 0);
    expect(list[1]!.healthy).toBe(true);
  });
});
