import fc from 'fast-check';
import { backoffDelayMs, classifyFailure, decideAfterFailure, isDispatchFailureKind, type DispatchFailureKind } from './retry';

const settings = { baseMs: 1000, capMs: 60_000 };

describe('backoffDelayMs', () => {
  it.each([
    // attempt, random, expected: bound = min(cap, base·2^(attempt−1)), result = bound/2·(1 + random)
    [1, 0, 500],
    [1, 0.999999, 1000],
    [2, 0, 1000],
    [2, 0.5, 1500],
    [3, 0, 2000],
    [6, 0.25, 20_000],
    [7, 0, 30_000], // 64 s capped at 60 s
    [7, 0.999999, 60_000],
    [1_000_000, 0.5, 45_000],
  ])('attempt %s with random() = %s waits %s ms', (attempt, draw, expected) => {
    expect(backoffDelayMs(attempt, settings, () => draw)).toBe(expected);
  });

  it.each([0, -3, Number.NaN, 0.5])('treats attempt %s as the first', (attempt) => {
    expect(backoffDelayMs(attempt, settings, () => 0)).toBe(500);
  });

  it('treats an infinite attempt as past the cap', () => {
    expect(backoffDelayMs(Number.POSITIVE_INFINITY, settings, () => 0)).toBe(30_000);
  });

  it.each([
    [Number.NaN, 500],
    [-1, 500],
    [2, 1000],
  ])('clamps random() = %s into [0, 1]', (draw, expected) => {
    expect(backoffDelayMs(1, settings, () => draw)).toBe(expected);
  });

  it('handles a zero base and a base above the cap', () => {
    expect(backoffDelayMs(5000, { baseMs: 0, capMs: 1000 }, () => 0.5)).toBe(0);
    expect(backoffDelayMs(1, { baseMs: 5000, capMs: 1000 }, () => 0)).toBe(500);
  });

  it.each([
    [{ baseMs: -1, capMs: 10 }],
    [{ baseMs: 1.5, capMs: 10 }],
    [{ baseMs: 1, capMs: Number.POSITIVE_INFINITY }],
    [{ baseMs: 1, capMs: Number.NaN }],
  ])('refuses the settings %j', (bad) => {
    expect(() => backoffDelayMs(1, bad, () => 0)).toThrow(RangeError);
  });

  it('stays a whole number in [bound/2, bound] for any attempt, settings and draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.nat({ max: 10 ** 7 }),
        fc.nat({ max: 10 ** 9 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, capMs, draw) => {
          const delay = backoffDelayMs(attempt, { baseMs, capMs }, () => draw);
          const bound = Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 1023));
          expect(Number.isSafeInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(bound / 2);
          expect(delay).toBeLessThanOrEqual(bound);
        },
      ),
    );
  });

  it('never shrinks from one attempt to the next at the same draw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, draw) => {
        expect(backoffDelayMs(attempt + 1, settings, () => draw)).toBeGreaterThanOrEqual(backoffDelayMs(attempt, settings, () => draw));
      }),
    );
  });
});

describe('classifyFailure', () => {
  it.each<[unknown, DispatchFailureKind]>([
    ['refused', 'refused'],
    ['no_downloader', 'no_downloader'],
    [{ failure: 'unavailable', message: 'deadline' }, 'unavailable'],
    [{ failure: 'bogus' }, 'internal'],
    [new Error('boom'), 'internal'],
    ['Refused', 'internal'],
    [null, 'internal'],
    [undefined, 'internal'],
  ])('%p is %s', (caught, kind) => {
    expect(classifyFailure(caught)).toBe(kind);
  });

  it('recognises exactly the four kinds', () => {
    expect(['no_downloader', 'unavailable', 'refused', 'internal'].every(isDispatchFailureKind)).toBe(true);
    expect(isDispatchFailureKind('timeout')).toBe(false);
    expect(isDispatchFailureKind(3)).toBe(false);
  });
});

describe('decideAfterFailure', () => {
  const now = new Date('2025-01-01T00:00:00.000Z');
  const base = { maxRefusals: 3, now, baseMs: 1000, capMs: 60_000, random: () => 0 };

  it.each([
    [1, { action: 'retry', nextAttemptAt: new Date('2025-01-01T00:00:00.500Z') }],
    [2, { action: 'retry', nextAttemptAt: new Date('2025-01-01T00:00:01.000Z') }],
    [3, { action: 'fail' }],
    [4, { action: 'fail' }],
  ])('a refusal at attempt %s: %j', (attempts, expected) => {
    expect(decideAfterFailure({ ...base, kind: 'refused', attempts })).toEqual(expected);
  });

  it.each<DispatchFailureKind>(['no_downloader', 'unavailable', 'internal'])('always retries %s, backing off up to the cap', (kind) => {
    expect(decideAfterFailure({ ...base, kind, attempts: 1 })).toEqual({ action: 'retry', nextAttemptAt: new Date(now.getTime() + 500) });
    expect(decideAfterFailure({ ...base, kind, attempts: 10_000 })).toEqual({ action: 'retry', nextAttemptAt: new Date(now.getTime() + 30_000) });
  });

  it('refuses an invalid now', () => {
    expect(() => decideAfterFailure({ ...base, now: new Date(Number.NaN), kind: 'unavailable', attempts: 1 })).toThrow(RangeError);
  });

  it('schedules every retry after now and within the cap', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<DispatchFailureKind>('no_downloader', 'unavailable', 'refused', 'internal'),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (kind, attempts, maxRefusals, draw) => {
          const decision = decideAfterFailure({ ...base, kind, attempts, maxRefusals, random: () => draw });
          if (decision.action === 'fail') {
            expect(kind).toBe('refused');
            expect(attempts).toBeGreaterThanOrEqual(maxRefusals);
            return;
          }
          const waitMs = decision.nextAttemptAt.getTime() - now.getTime();
          expect(waitMs).toBeGreaterThan(0);
          expect(waitMs).toBeLessThanOrEqual(base.capMs);
        },
      ),
    );
  });
});
