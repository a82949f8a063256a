import { deferred } from '@dwld/testkit';
import { Batcher } from './batcher';

describe('Batcher', () => {
  it('runs what is submitted in one turn together, each caller getting its own result', async () => {
    const runs: number[][] = [];
    const batcher = new Batcher<number, number>(async (items) => {
      runs.push(items);
      return items.map((n) => n * 10);
    }, { maxBatch: 100 });
    const results = await Promise.all([1, 2, 3].map((n) => batcher.submit(n)));
    expect(results).toEqual([10, 20, 30]);
    expect(runs).toEqual([[1, 2, 3]]);
  });

  it('gathers what arrives during a run into the next one, never more than maxBatch', async () => {
    const runs: number[][] = [];
    const gates: Array<ReturnType<typeof deferred<void>>> = [];
    const batcher = new Batcher<number, number>(async (items) => {
      runs.push(items);
      const gate = deferred<void>();
      gates.push(gate);
      await gate.promise;
      return items;
    }, { maxBatch: 2 });
    const first = batcher.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual([[1]]);
    const rest = [2, 3, 4].map((n) => batcher.submit(n));
    await new Promise((resolve) => setImmediate(resolve));
    // One run in flight: the others wait for it.
    expect(runs).toEqual([[1]]);
    expect(batcher.pending).toBe(3);
    gates[0]!.resolve();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual([[1], [2, 3]]);
    gates[1]!.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual([[1], [2, 3], [4]]);
    gates[2]!.resolve();
    expect(await Promise.all(rest)).toEqual([2, 3, 4]);
  });

  it('rejects every item of a failed run and goes on with the next', async () => {
    let fail = true;
    const batcher = new Batcher<string, string>(async (items) => {
      if (fail) throw new Error('database down');
      return items.map((s) => s.toUpperCase());
    }, { maxBatch: 10 });
    const failed = await Promise.allSettled([batcher.submit('a'), batcher.submit('b')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((failed[0] as PromiseRejectedResult).reason.message).toBe('database down');
    fail = false;
    expect(await batcher.submit('c')).toBe('C');
  });

  it('rejects a run that answers with the wrong number of results', async () => {
    const batcher = new Batcher<number, number>(async () => [1], { maxBatch: 10 });
    await expect(Promise.all([batcher.submit(1), batcher.submit(2)])).rejects.toThrow('a batch of 2 got 1 results');
  });

  it('refuses nonsense sizes', () => {
    expect(() => new Batcher(async (x) => x, { maxBatch: 0 })).toThrow('maxBatch');
    expect(() => new Batcher(async (x) => x, { maxBatch: 1, maxConcurrent: 0 })).toThrow('maxConcurrent');
  });
});
