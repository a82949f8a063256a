import { EventEmitter } from 'node:events';
import { silentLogger } from '@dwld/logger';
import { deferred, waitFor } from '@dwld/testkit';
import { handleShutdown } from './shutdown';

describe('handleShutdown', () => {
  it('stops once on SIGTERM and exits 0 after the stop finished', async () => {
    const signals = new EventEmitter();
    const exits: number[] = [];
    const finish = deferred<void>();
    let stops = 0;
    handleShutdown({ logger: silentLogger(), signals, exit: (code) => exits.push(code), stop: () => (stops++, finish.promise) });
    signals.emit('SIGTERM');
    expect(stops).toBe(1);
    expect(exits).toEqual([]);
    finish.resolve();
    await waitFor(() => exits.length > 0);
    expect(exits).toEqual([0]);
  });

  it.each(['SIGHUP', 'disconnect'])('stops once on %s as on SIGTERM', async (event) => {
    const signals = new EventEmitter();
    const exits: number[] = [];
    let stops = 0;
    handleShutdown({ logger: silentLogger(), signals, exit: (code) => exits.push(code), stop: async () => void stops++ });
    signals.emit(event);
    await waitFor(() => exits.length > 0);
    expect(stops).toBe(1);
    expect(exits).toEqual([0]);
  });

  it('ignores the parent going away while a stop is under way (no early exit)', async () => {
    const signals = new EventEmitter();
    const exits: number[] = [];
    const finish = deferred<void>();
    handleShutdown({ logger: silentLogger(), signals, exit: (code) => exits.push(code), stop: () => finish.promise });
    signals.emit('SIGTERM');
    signals.emit('disconnect');
    expect(exits).toEqual([]);
    finish.resolve();
    await waitFor(() => exits.length > 0);
    expect(exits).toEqual([0]);
  });

  it('exits 1 at once on a second signal', async () => {
    const signals = new EventEmitter();
    const exits: number[] = [];
    handleShutdown({ logger: silentLogger(), signals, exit: (code) => exits.push(code), stop: () => new Promise(() => {}) });
    signals.emit('SIGINT');
    signals.emit('SIGINT');
    expect(exits).toEqual([1]);
  });

  it('exits 1 when the stop fails or takes longer than the timeout', async () => {
    const failing = new EventEmitter();
    const exits: number[] = [];
    handleShutdown({ logger: silentLogger(), signals: failing, exit: (code) => exits.push(code), stop: async () => Promise.reject(new Error('boom')) });
    failing.emit('SIGTERM');
    await waitFor(() => exits.length === 1);
    expect(exits).toEqual([1]);

    const slow = new EventEmitter();
    const slowExits: number[] = [];
    handleShutdown({ logger: silentLogger(), signals: slow, timeoutMs: 20, exit: (code) => slowExits.push(code), stop: () => new Promise(() => {}) });
    slow.emit('SIGTERM');
    await waitFor(() => slowExits.length === 1);
    expect(slowExits).toEqual([1]);
  });
});
