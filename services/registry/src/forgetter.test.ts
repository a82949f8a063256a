import { silentLogger } from '@dwld/logger';
import type { Downloader } from '@dwld/db';
import { Forgetter, forgetIntervalMs } from './forgetter';

describe('forgetIntervalMs', () => {
  it.each([
    [7 * 24 * 3600_000, 3_600_000],
    [3600_000, 360_000],
    [5_000, 1_000],
    [1_000, 1_000],
  ])('forgetting after %i ms, looks every %i ms', (afterMs, interval) => {
    expect(forgetIntervalMs(afterMs)).toBe(interval);
  });
});

describe('Forgetter', () => {
  const row = (name: string): Downloader => ({ id: 1, name, host: '10.0.0.1', port: 1, allowedPatterns: ['*'], registeredAt: new Date(0), lastSeenAt: new Date(0), lastHealthAt: null, lastHealthOk: null, lastHealthMessage: null, healthy: false, updatedAt: new Date(0) });

  it('forgets what was silent since now - afterMs, and tells of each one', async () => {
    const asked: Date[] = [];
    const told: string[] = [];
    const forgetter = new Forgetter({
      store: { forgetSilentSince: async (before) => (asked.push(before), [row('a'), row('b')]) },
      logger: silentLogger(),
      afterMs: 60_000,
      heardFromFleet: () => true,
      onForgotten: async (d) => void told.push(d.name),
      now: () => 100_000,
    });
    expect((await forgetter.forgetOnce()).map((d) => d.name)).toEqual(['a', 'b']);
    expect(asked).toEqual([new Date(40_000)]);
    expect(told).toEqual(['a', 'b']);
  });

  it('logs and carries on when the database cannot be reached', async () => {
    const forgetter = new Forgetter({
      store: { forgetSilentSince: async () => Promise.reject(new Error('database away')) },
      logger: silentLogger(),
      afterMs: 60_000,
      heardFromFleet: () => true,
      onForgotten: async () => {},
    });
    await expect(forgetter.forgetOnce()).resolves.toEqual([]);
  });
});
