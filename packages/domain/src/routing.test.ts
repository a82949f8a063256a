import fc from 'fast-check';
import { isEligible, matchesPattern, planRoute, type RoutableDownloader, RecentFailures } from './routing';

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

type Downloader = RoutableDownloader & { id: number };

describe('planRoute', () => {
  const nas: Downloader = { id: 1, name: 'nas', patterns: ['youtube.com'], healthy: true };
  const cloud: Downloader = { id: 2, name: 'cloud', patterns: ['*'], healthy: true };
  const vk: Downloader = { id: 3, name: 'vk', patterns: ['vk.com'], healthy: true };
  const sleepy: Downloader = { id: 4, name: 'sleepy', patterns: ['youtube.com', 'vk.com'], healthy: false };

  it('returns nothing when no downloader takes the host', () => {
    expect(planRoute('example.org', [nas, vk], () => 0)).toEqual([]);
    expect(planRoute('example.org', [], () => 0)).toEqual([]);
  });

  it.each([
    [0, ['nas', 'cloud', 'sleepy']],
    [0.49, ['nas', 'cloud', 'sleepy']],
    [0.5, ['cloud', 'nas', 'sleepy']],
    [0.99, ['cloud', 'nas', 'sleepy']],
  ])('with random() = %s tries %j', (draw, expected) => {
    const plan = planRoute('www.youtube.com', [sleepy, nas, vk, cloud], () => draw);
    expect(plan.map((downloader) => downloader.name)).toEqual(expected);
  });

  it('keeps the cyclic order after the random first one', () => {
    const fleet = ['a', 'b', 'c', 'd'].map((name, id) => ({ id, name, patterns: ['*'], healthy: true }));
    expect(planRoute('x.example', fleet, () => 0.6).map((d) => d.name)).toEqual(['c', 'd', 'a', 'b']);
  });

  it('returns the callers own records', () => {
    expect(planRoute('vk.com', [vk], () => 0)[0]).toBe(vk);
  });

  it.each([Number.NaN, -1, 1, 7, Number.POSITIVE_INFINITY])('stays in range when random() returns %s', (draw) => {
    const plan = planRoute('youtube.com', [nas, cloud], () => draw);
    expect(plan.map((d) => d.name).sort()).toEqual(['cloud', 'nas']);
  });

  const fleetArbitrary = fc.array(
    fc.record({
      name: fc.string({ maxLength: 4 }),
      patterns: fc.array(fc.constantFrom('*', 'any', 'youtube.com', 'vk.com', 'www.youtube.com', 'example.org'), { maxLength: 3 }),
      healthy: fc.boolean(),
    }),
    { maxLength: 8 },
  );
  const hostArbitrary = fc.constantFrom('youtube.com', 'www.youtube.com', 'm.youtube.com', 'vk.com', 'example.org', 'other.net');

  it('returns every eligible downloader exactly once, never an ineligible one, healthy ones first', () => {
    fc.assert(
      fc.property(hostArbitrary, fleetArbitrary, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (host, fleet, draw) => {
        const plan = planRoute(host, fleet, () => draw);
        const eligible = fleet.filter((downloader) => isEligible(host, downloader));
        expect(plan).toHaveLength(eligible.length);
        expect(new Set(plan).size).toBe(plan.length);
        for (const downloader of plan) expect(eligible).toContain(downloader);
        const firstUnhealthy = plan.findIndex((downloader) => !downloader.healthy);
        if (firstUnhealthy >= 0) expect(plan.slice(firstUnhealthy).every((downloader) => !downloader.healthy)).toBe(true);
      }),
    );
  });

  it('can put each healthy eligible downloader first as random() ranges over [0, 1)', () => {
    fc.assert(
      fc.property(hostArbitrary, fleetArbitrary, (host, fleet) => {
        const healthyEligible = fleet.filter((downloader) => downloader.healthy && isEligible(host, downloader));
        const firsts = new Set<RoutableDownloader>();
        // One draw per equal slice of [0, 1) reaches each index of a group of n.
        for (let slice = 0; slice < healthyEligible.length; slice++) {
          const draw = (slice + 0.5) / healthyEligible.length;
          const first = planRoute(host, fleet, () => draw)[0];
          if (first !== undefined) firsts.add(first);
        }
        expect(firsts).toEqual(new Set(healthyEligible));
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
