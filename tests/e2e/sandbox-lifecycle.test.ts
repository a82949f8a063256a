// `npm start` (the sandbox) as a person or a process manager runs it, stopped each way they stop
// it: every process of the tree (npm, dwld's runner, the emulator, the three services, the two
// simulators) must be gone within the shutdown timeout, with no orphan left anywhere. npm 11
// forwards SIGTERM and SIGINT to its script and dies at once of SIGHUP or SIGKILL; the runner
// can be SIGKILLed on its own (see the README, "Stopping").
import { waitFor } from '@dwld/testkit';
import { isRunning, KILL_MARGIN_S, killLeftovers, processesWithPrefix, processTree, sandboxWorld, SHUTDOWN_TIMEOUT_S, type Proc, type Sandbox, type SandboxWorld } from './support/sandbox';

/** Who gets the signal: npm, the whole job (what a terminal does on Ctrl-C or when it closes), or dwld's runner. */
type Target = 'npm' | 'job' | 'runner';

describe('the sandbox (npm start) stops completely, whatever stops it', () => {
  let world: SandboxWorld;

  beforeAll(async () => {
    world = await sandboxWorld('sandbox-stop');
  });
  afterEach(() => killLeftovers(world.ns.prefix));
  afterAll(() => world?.cleanup());

  /** Starts the sandbox, waits until all of it is up, and returns it with its process tree. */
  async function upAndRunning(): Promise<{ sandbox: Sandbox; tree: Proc[]; runner: Proc }> {
    await world.db.downloader.deleteMany();
    const sandbox = await world.start();
    const tree = processTree(sandbox.npm.pid!);
    const runner = tree.find((p) => p.command.includes('scripts/dwld.mjs start'));
    // npm, the runner (npm's script runs it with exec: no shell in between) and its six children.
    expect(tree.map((p) => p.command)).toEqual([
      expect.stringMatching(/^npm start/),
      expect.stringContaining('scripts/dwld.mjs start'),
      ...Array.from({ length: 6 }, () => expect.stringMatching(/dist\/main\.js$/)),
    ]);
    expect(runner).toBeDefined();
    // A quiet start: the simulators start once the registry listens, so none was refused.
    expect(sandbox.output()).not.toMatch(/cannot register|ECONNREFUSED/);
    // Every process the sandbox started is in that tree.
    expect(processesWithPrefix(world.ns.prefix).map((p) => p.pid).sort()).toEqual(tree.map((p) => p.pid).sort());
    return { sandbox, tree, runner: runner! };
  }

  async function expectAllGone(sandbox: Sandbox, tree: Proc[], startedAt: number): Promise<number> {
    try {
      await waitFor(() => tree.every((p) => !isRunning(p)) && processesWithPrefix(world.ns.prefix).length === 0, {
        what: 'every process of the sandbox to be gone',
        timeout: (SHUTDOWN_TIMEOUT_S + KILL_MARGIN_S) * 1000,
        interval: 50,
      });
    } catch (err) {
      const left = [...tree.filter(isRunning), ...processesWithPrefix(world.ns.prefix)].map((p) => `${p.pid} ${p.command}`);
      throw new Error(`${(err as Error).message}\nstill running:\n${[...new Set(left)].join('\n')}\n--- output\n${sandbox.output().slice(-3000)}`);
    }
    return Date.now() - startedAt;
  }

  it.each<[NodeJS.Signals, Target, { code: number | null; signal: NodeJS.Signals | null }]>([
    // npm forwards these two to the runner, which stops everything and exits 0: npm exits 0 too.
    ['SIGTERM', 'npm', { code: 0, signal: null }],
    ['SIGINT', 'npm', { code: 0, signal: null }],
    // npm dies at once; the runner notices it is orphaned.
    ['SIGHUP', 'npm', { code: null, signal: 'SIGHUP' }],
    ['SIGKILL', 'npm', { code: null, signal: 'SIGKILL' }],
    // A terminal closing: npm dies of it, the runner stops everything.
    ['SIGHUP', 'job', { code: null, signal: 'SIGHUP' }],
    // The runner dies at once; each child sees its IPC channel close. npm, seeing its script
    // killed, kills itself with the same signal.
    ['SIGKILL', 'runner', { code: null, signal: 'SIGKILL' }],
  ])('%s to %s: every process is gone within SHUTDOWN_TIMEOUT_S', async (signal, target, npmExit) => {
    const { sandbox, tree, runner } = await upAndRunning();
    const startedAt = Date.now();
    process.kill(target === 'npm' ? sandbox.npm.pid! : target === 'job' ? -sandbox.npm.pid! : runner.pid, signal);
    const tookMs = await expectAllGone(sandbox, tree, startedAt);
    expect(await sandbox.exited).toEqual(npmExit);
    // A clean stop, not the runner's last resort (SIGKILL after the timeout).
    expect(sandbox.output()).not.toContain('killing it');
    expect(tookMs).toBeLessThan(SHUTDOWN_TIMEOUT_S * 1000);
  });
});
