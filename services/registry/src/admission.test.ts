import { InFlightLimit, PeerRateLimiter, RefusalLog, rateKeyOf } from './admission';

describe('InFlightLimit', () => {
  it('gives at most max slots, refuses at once beyond them, and frees a slot once per release', () => {
    const limit = new InFlightLimit(2);
    const a = limit.tryAcquire();
    const b = limit.tryAcquire();
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    expect(limit.tryAcquire()).toBeUndefined();
    a!();
    a!(); // a second release of the same slot frees nothing more
    expect(limit.inFlight()).toBe(1);
    const c = limit.tryAcquire();
    expect(c).toBeDefined();
    expect(limit.tryAcquire()).toBeUndefined();
    b!();
    c!();
    expect(limit.inFlight()).toBe(0);
  });

  it('refuses a max under 1', () => {
    expect(() => new InFlightLimit(0)).toThrow(RangeError);
  });
});

describe('PeerRateLimiter', () => {
  function limiter(options: { perSecond: number; burst: number; maxPeers?: number }) {
    let now = 1_000_000;
    const rate = new PeerRateLimiter({ ...options, now: () => now });
    return { rate, advance: (ms: number) => (now += ms) };
  }

  it('lets a burst through at once, then perSecond a second', () => {
    const { rate, advance } = limiter({ perSecond: 2, burst: 3 });
    expect([1, 2, 3, 4].map(() => rate.take('10.0.0.1'))).toEqual([true, true, true, false]);
    advance(499);
    expect(rate.take('10.0.0.1')).toBe(false);
    advance(1);
    expect(rate.take('10.0.0.1')).toBe(true);
    expect(rate.take('10.0.0.1')).toBe(false);
    // Refills up to the burst, never beyond.
    advance(60_000);
    expect([1, 2, 3, 4].map(() => rate.take('10.0.0.1'))).toEqual([true, true, true, false]);
  });

  it('counts each peer on its own', () => {
    const { rate } = limiter({ perSecond: 1, burst: 1 });
    expect(rate.take('10.0.0.1')).toBe(true);
    expect(rate.take('10.0.0.1')).toBe(false);
    expect(rate.take('10.0.0.2')).toBe(true);
  });

  it('keeps refused calls from refilling the bucket (a flood never earns tokens by being refused)', () => {
    const { rate, advance } = limiter({ perSecond: 1, burst: 1 });
    expect(rate.take('p')).toBe(true);
    let allowed = 0;
    // Steps of 1/8 s: sums exact in binary floating point.
    for (let i = 0; i < 80; i++) {
      advance(125);
      if (rate.take('p')) allowed += 1;
    }
    // 10 s at one a second.
    expect(allowed).toBe(10);
  });

  it('tracks at most maxPeers: full buckets go first, then the least recently heard from', () => {
    const { rate, advance } = limiter({ perSecond: 1, burst: 2, maxPeers: 3 });
    rate.take('a');
    rate.take('b');
    rate.take('c');
    advance(5_000); // a, b and c are full again: the same as never seen
    rate.take('d');
    expect(rate.size()).toBe(1);
    // Drained peers are kept while there is room…
    for (const peer of ['e', 'f']) {
      rate.take(peer);
      rate.take(peer);
    }
    expect(rate.size()).toBe(3);
    expect(rate.take('e')).toBe(false);
    // …and past it the one heard from longest ago (d) is dropped, not the drained ones heard from since.
    rate.take('g');
    expect(rate.size()).toBe(3);
    expect(rate.take('e')).toBe(false);
    expect(rate.take('f')).toBe(false);
  });
});

describe('rateKeyOf', () => {
  it.each([
    ['10.0.0.5', '10.0.0.5'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1', 'fe80:0:0:0::/64'],
    ['::ffff:1.2.3.4', '0:0:0:0::/64'],
  ])('counts %s under %s', (address, key) => {
    expect(rateKeyOf(address)).toBe(key);
  });

  it('puts every address of one /64 under one key', () => {
    expect(rateKeyOf('2001:db8:aa:bb:1::')).toBe(rateKeyOf('2001:db8:aa:bb:ffff:ffff:ffff:ffff'));
    expect(rateKeyOf('2001:db8:aa:bb::')).not.toBe(rateKeyOf('2001:db8:aa:bc::'));
  });

  it('puts calls without an address under one key', () => {
    expect(rateKeyOf(undefined)).toBe('local');
  });
});

describe('RefusalLog', () => {
  it('says to log the first refusal of each kind per interval, with how many were kept quiet since', () => {
    let now = 0;
    const log = new RefusalLog(10_000, () => now);
    expect(log.shouldLog('invalid')).toEqual({ quiet: 0 });
    expect(log.shouldLog('invalid')).toBeUndefined();
    expect(log.shouldLog('invalid')).toBeUndefined();
    expect(log.shouldLog('busy')).toEqual({ quiet: 0 });
    now = 9_999;
    expect(log.shouldLog('invalid')).toBeUndefined();
    now = 10_000;
    expect(log.shouldLog('invalid')).toEqual({ quiet: 3 });
    now = 30_000;
    expect(log.shouldLog('invalid')).toEqual({ quiet: 0 });
  });
});
