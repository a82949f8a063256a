import { Repeating } from './repeating';

/** A run that waits to be let go, counting its starts. */
function gatedRun(nextInMs: number) {
  let release: (() => void) | undefined;
  const state = { starts: 0, release: () => release?.() };
  const run = () =>
    new Promise<number>((resolve) => {
      state.starts += 1;
      release = () => resolve(nextInMs);
    });
  return { run, state };
}

describe('Repeating', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs after the start delay, then after the delay each run returns', async () => {
    let runs = 0;
    const loop = new Repeating(async () => {
      runs += 1;
      return 1_000;
    });
    loop.start(50);
    await jest.advanceTimersByTimeAsync(49);
    expect(runs).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(runs).toBe(1);
    await jest.advanceTimersByTimeAsync(999);
    expect(runs).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(runs).toBe(2);
    await loop.stop();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(runs).toBe(2);
  });

  it('never overlaps two runs: runNow joins the one in flight, and stop waits for it', async () => {
    const { run, state } = gatedRun(1_000);
    const loop = new Repeating(run);
    loop.start(0);
    await jest.advanceTimersByTimeAsync(0);
    expect(state.starts).toBe(1);
    const joined = loop.runNow();
    expect(state.starts).toBe(1);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    state.release();
    await Promise.all([joined, stopping]);
    expect(stopped).toBe(true);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(state.starts).toBe(1);
  });

  it('runNow runs at once and plans the next run from its end', async () => {
    let runs = 0;
    const loop = new Repeating(async () => {
      runs += 1;
      return 500;
    });
    loop.start(10_000);
    await loop.runNow();
    expect(runs).toBe(1);
    await jest.advanceTimersByTimeAsync(500);
    expect(runs).toBe(2);
    await loop.stop();
  });

  it('does nothing before start or after stop, and starts once', async () => {
    let runs = 0;
    const loop = new Repeating(async () => {
      runs += 1;
      return 1_000;
    });
    await loop.runNow();
    expect(runs).toBe(0);
    loop.start(0);
    loop.start(0);
    await jest.advanceTimersByTimeAsync(0);
    expect(runs).toBe(1);
    await loop.stop();
    await loop.runNow();
    expect(runs).toBe(1);
  });

  it('stops repeating when a run rejects, and says so to runNow', async () => {
    let runs = 0;
    const loop = new Repeating(async () => {
      runs += 1;
      throw new Error('broken');
    });
    loop.start(10_000);
    await expect(loop.runNow()).rejects.toThrow('broken');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(runs).toBe(1);
    await loop.stop();
  });
});
