import { LatestWins } from './coalescer';

/** A write the test finishes by hand, so the order of events is the test's, not the clock's. */
function controlledWrites() {
  const calls: Array<{ request: string; finish: () => void; fail: (err: Error) => void }> = [];
  const write = (request: string) =>
    new Promise<string>((resolve, reject) => {
      calls.push({ request, finish: () => resolve(`wrote ${request}`), fail: reject });
    });
  return { calls, write };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('LatestWins', () => {
  it('runs one write per key at a time; equal requests share the write in flight', async () => {
    const { calls, write } = controlledWrites();
    const writes = new LatestWins<string, string>(write, (r) => r);
    const first = writes.run('nas', 'a');
    const second = writes.run('nas', 'a');
    const other = writes.run('box', 'a');
    expect(calls.map((c) => c.request)).toEqual(['a', 'a']); // one for nas, one for box
    calls[0]!.finish();
    expect(await first).toEqual({ result: 'wrote a', own: true });
    expect(await second).toEqual({ result: 'wrote a', own: false });
    calls[1]!.finish();
    expect(await other).toEqual({ result: 'wrote a', own: true });
    await flush();
    expect(writes.size()).toBe(0);
  });

  it('writes a different request after the one in flight; the latest of those waiting wins and the others share it', async () => {
    const { calls, write } = controlledWrites();
    const writes = new LatestWins<string, string>(write, (r) => r);
    const a = writes.run('nas', 'a');
    const b = writes.run('nas', 'b');
    const c = writes.run('nas', 'c');
    const c2 = writes.run('nas', 'c');
    expect(calls.map((x) => x.request)).toEqual(['a']);
    calls[0]!.finish();
    expect(await a).toEqual({ result: 'wrote a', own: true });
    await flush();
    // b was overtaken by c before its turn: one write, c's.
    expect(calls.map((x) => x.request)).toEqual(['a', 'c']);
    calls[1]!.finish();
    expect(await Promise.all([b, c, c2])).toEqual([
      { result: 'wrote c', own: false },
      { result: 'wrote c', own: true },
      { result: 'wrote c', own: false },
    ]);
  });

  it('writes a request equal to the one in flight again when a different one came between (the latest wins)', async () => {
    const { calls, write } = controlledWrites();
    const writes = new LatestWins<string, string>(write, (r) => r);
    const a = writes.run('nas', 'a');
    const b = writes.run('nas', 'b');
    const again = writes.run('nas', 'a');
    calls[0]!.finish();
    await a;
    await flush();
    expect(calls.map((x) => x.request)).toEqual(['a', 'a']);
    calls[1]!.finish();
    expect(await b).toEqual({ result: 'wrote a', own: false });
    expect(await again).toEqual({ result: 'wrote a', own: true });
  });

  it('gives a failed write\'s error to everyone sharing it, and the next write still runs', async () => {
    const { calls, write } = controlledWrites();
    const writes = new LatestWins<string, string>(write, (r) => r);
    const a = writes.run('nas', 'a');
    const shared = writes.run('nas', 'a');
    const b = writes.run('nas', 'b');
    calls[0]!.fail(new Error('database away'));
    await expect(a).rejects.toThrow('database away');
    await expect(shared).rejects.toThrow('database away');
    await flush();
    calls[1]!.finish();
    expect(await b).toEqual({ result: 'wrote b', own: true });
  });

  it('turns a write that throws at once into a rejection', async () => {
    const writes = new LatestWins<string, string>(() => {
      throw new Error('bug');
    }, (r) => r);
    await expect(writes.run('nas', 'a')).rejects.toThrow('bug');
    expect(writes.size()).toBe(0);
  });
});
