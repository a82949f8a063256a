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
  const base = { maxRefusals: 3, maxAttempts: 1_000_000, giveUpAfterMs: 10 ** 12, firstFailedAt: now, now, baseMs: 1000, capMs: 60_000, random: () => 0 };

  it.each([
    [1, { action: 'retry', nextAttemptAt: new Date('2025-01-01T00:00:00.500Z') }],
    [2, { action: 'retry', nextAttemptAt: new Date('2025-01-01T00:00:01.000Z') }],
    [3, { action: 'fail', why: 'refused' }],
    [4, { action: 'fail', why: 'refused' }],
  ])('a refusal at attempt %s: %j', (attempts, expected) => {
    expect(decideAfterFailure({ ...base, kind: 'refused', attempts })).toEqual(expected);
  });

  it.each<DispatchFailureKind>(['no_downloader', 'unavailable', 'internal'])('retries %s, backing off up to the cap', (kind) => {
    expect(decideAfterFailure({ ...base, kind, attempts: 1 })).toEqual({ action: 'retry', nextAttemptAt: new Date(now.getTime() + 500) });
    expect(decideAfterFailure({ ...base, kind, attempts: 10_000 })).toEqual({ action: 'retry', nextAttemptAt: new Date(now.getTime() + 30_000) });
  });

  it.each<DispatchFailureKind>(['no_downloader', 'unavailable', 'internal', 'refused'])('gives %s up after MAX_ATTEMPTS tries', (kind) => {
    const limits = { ...base, maxRefusals: 100, maxAttempts: 20 };
    expect(decideAfterFailure({ ...limits, kind, attempts: 19 }).action).toBe('retry');
    expect(decideAfterFailure({ ...limits, kind, attempts: 20 })).toEqual({ action: 'fail', why: 'attempts' });
  });

  it('gives up GIVE_UP_AFTER_S after the first failure, and makes the last try at that moment', () => {
    const firstFailedAt = new Date(now.getTime() - 86_000_000);
    const limits = { ...base, giveUpAfterMs: 86_400_000, firstFailedAt, random: () => 0.999 };
    // 400 s left, the backoff would wait up to 60 s: an ordinary retry.
    expect(decideAfterFailure({ ...limits, kind: 'internal', attempts: 7 })).toEqual({ action: 'retry', nextAttemptAt: new Date(now.getTime() + 59_970) });
    // 10 s left: the retry is made when the time runs out, not after.
    const late = { ...limits, now: new Date(firstFailedAt.getTime() + 86_390_000) };
    expect(decideAfterFailure({ ...late, kind: 'internal', attempts: 7 })).toEqual({ action: 'retry', nextAttemptAt: new Date(firstFailedAt.getTime() + 86_400_000) });
    // The time is up.
    const over = { ...limits, now: new Date(firstFailedAt.getTime() + 86_400_000) };
    expect(decideAfterFailure({ ...over, kind: 'unavailable', attempts: 8 })).toEqual({ action: 'fail', why: 'time' });
  });

  it('refuses an invalid now', () => {
    expect(() => decideAfterFailure({ ...base, now: new Date(Number.NaN), kind: 'unavailable', attempts: 1 })).toThrow(RangeError);
  });

  it('schedules every retry after now, within the cap and before the time runs out; fails only by a rule', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<DispatchFailureKind>('no_downloader', 'unavailable', 'refused', 'internal'),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 200_000 }),
        fc.integer({ min: 0, max: 300_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (kind, attempts, maxRefusals, maxAttempts, giveUpAfterMs, elapsedMs, draw) => {
          const firstFailedAt = new Date(now.getTime() - elapsedMs);
          const decision = decideAfterFailure({ ...base, kind, attempts, maxRefusals, maxAttempts, giveUpAfterMs, firstFailedAt, random: () => draw });
          if (decision.action === 'fail') {
            const byRule = (kind === 'refused' && attempts >= maxRefusals) || attempts >= maxAttempts || elapsedMs >= giveUpAfterMs;
            expect(byRule).toBe(true);
            return;
          }
          const waitMs = decision.nextAttemptAt.getTime() - now.getTime();
          expect(waitMs).toBeGreaterThan(0);
          expect(waitMs).toBeLessThanOrEqual(base.capMs);
          expect(decision.nextAttemptAt.getTime()).toBeLessThanOrEqual(firstFailedAt.getTime() + giveUpAfterMs);
        },
      ),
    );
  });
});
