// The sandbox as a person runs it: `npm start` without TELEGRAM_BOT_TOKEN, i.e. npm → node
// scripts/dwld.mjs → the Telegram emulator, the three services and two simulated downloaders,
// each in its own process. Every port is a free one, the database and the Redis prefix are the
// test's own, and DWLD_SKIP_PREPARE=1 skips install, migrations and build (the test run did them).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, type Database } from '@dwld/db';
import { createRedisNamespace, createTestDatabase, freePort, waitFor, type RedisNamespace, type TestDatabase } from '@dwld/testkit';

export const ROOT = path.resolve(__dirname, '../../..');

/** SHUTDOWN_TIMEOUT_S the sandbox runs with (the default), and the margin the runner gives a child on top of it. */
export const SHUTDOWN_TIMEOUT_S = 15;
export const KILL_MARGIN_S = 5;

export interface SandboxPorts {
  emulator: number;
  registryGrpc: number;
  registryHttp: number;
  schedulerHttp: number;
  gatewayHttp: number;
  videoNasHttp: number;
  anythingBoxHttp: number;
}

export interface SandboxOptions {
  databaseUrl: string;
  redisUrl: string;
  streamPrefix: string;
  /** EMULATOR_STATE_FILE; the sandbox's default (.sandbox/ in the repository) when unset. */
  stateFile?: string;
  /** Ports to use again (a restart); free ones otherwise. */
  ports?: SandboxPorts;
}

export interface Sandbox {
  /** npm's process: the one a person or a process manager started. */
  npm: ChildProcess;
  ports: SandboxPorts;
  emulatorUrl: string;
  /** Everything npm and dwld wrote (the services' logs included). */
  output(): string;
  /** npm's exit: its code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A process as seen in /proc: its pid and start time together name it (pids are reused). */
export interface Proc {
  pid: number;
  startTime: string;
  command: string;
}

interface Stat {
  ppid: number;
  state: string;
  startTime: string;
}

function stat(pid: number): Stat | null {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command (field 2) is in parentheses and may hold spaces: the fields after the last ')'.
  const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, ppid: Number(fields[1]), startTime: fields[19]! };
}

function command(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** `pid` and every process below it, now. */
export function processTree(pid: number): Proc[] {
  const children = new Map<number, number[]>();
  for (const p of pids()) {
    const s = stat(p);
    if (s) children.set(s.ppid, [...(children.get(s.ppid) ?? []), p]);
  }
  const tree: Proc[] = [];
  const visit = (p: number) => {
    const s = stat(p);
    if (!s) return;
    tree.push({ pid: p, startTime: s.startTime, command: command(p) });
    for (const child of children.get(p) ?? []) visit(child);
  };
  visit(pid);
  return tree;
}

/** Still running: the same process (same start time) and not a zombie waiting to be reaped. */
export function isRunning(proc: Proc): boolean {
  const s = stat(proc.pid);
  return s !== null && s.startTime === proc.startTime && s.state !== 'Z' && s.state !== 'X';
}

/**
 * Every running process whose environment has `STREAM_PREFIX=<prefix>`: whatever a sandbox
 * started, wherever it was reparented, even one started after the tree was looked at.
 */
export function processesWithPrefix(prefix: string): Proc[] {
  const found: Proc[] = [];
  for (const pid of pids()) {
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      continue;
    }
    if (!environ.split('\0').includes(`STREAM_PREFIX=${prefix}`)) continue;
    const s = stat(pid);
    if (s && s.state !== 'Z' && s.state !== 'X') found.push({ pid, startTime: s.startTime, command: command(pid) });
  }
  return found;
}

async function freePorts(): Promise<SandboxPorts> {
  const [emulator, registryGrpc, registryHttp, schedulerHttp, gatewayHttp, videoNasHttp, anythingBoxHttp] = await Promise.all(Array.from({ length: 7 }, () => freePort()));
  return { emulator: emulator!, registryGrpc: registryGrpc!, registryHttp: registryHttp!, schedulerHttp: schedulerHttp!, gatewayHttp: gatewayHttp!, videoNasHttp: videoNasHttp!, anythingBoxHttp: anythingBoxHttp! };
}

/** Starts `npm start` in its own process group, as a terminal starts a job. */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const ports = options.ports ?? (await freePorts());
  // Only what a person's shell would have: none of the npm_* variables of the test run's own
  // package manager, and no bot token (that would leave the sandbox for the real Telegram).
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && !['TELEGRAM_BOT_TOKEN', 'NODE_OPTIONS', 'HTTP_PORT', 'GRPC_PORT'].includes(key)));
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    NPM_CONFIG_UPDATE_NOTIFIER: 'false',
    DWLD_SKIP_PREPARE: '1',
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    STREAM_PREFIX: options.streamPrefix,
    LOG_LEVEL: 'info',
    EMULATOR_PORT: String(ports.emulator),
    GRPC_PORT: String(ports.registryGrpc),
    REGISTRY_HTTP_PORT: String(ports.registryHttp),
    SCHEDULER_HTTP_PORT: String(ports.schedulerHttp),
    BOT_GATEWAY_HTTP_PORT: String(ports.gatewayHttp),
    VIDEO_NAS_HTTP_PORT: String(ports.videoNasHttp),
    ANYTHING_BOX_HTTP_PORT: String(ports.anythingBoxHttp),
    HTTP_HOST: '127.0.0.1',
    ...(options.stateFile ? { EMULATOR_STATE_FILE: options.stateFile } : {}),
  };
  const npm = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  npm.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.on('exit', (code, signal) => resolve({ code, signal })));
  return { npm, ports, emulatorUrl: `http://127.0.0.1:${ports.emulator}`, output: () => output, exited };
}

const answers = async (url: string) => (await fetch(url).catch(() => null))?.status === 200;

/**
 * Waits until the whole sandbox is up: the emulator serves, every service and simulator is
 * ready, and both simulators are registered (in the registry's table, read by `registered`).
 */
export async function untilUp(sandbox: Sandbox, registered: () => Promise<number>): Promise<void> {
  const { ports } = sandbox;
  const ready = [ports.registryHttp, ports.schedulerHttp, ports.gatewayHttp, ports.videoNasHttp, ports.anythingBoxHttp].map((port) => `http://127.0.0.1:${port}/readyz`);
  try {
    await waitFor(
      async () => {
        if (sandbox.npm.exitCode !== null || sandbox.npm.signalCode !== null) throw new Error('npm exited');
        return (await answers(`${sandbox.emulatorUrl}/__emulator/bots`)) && (await Promise.all(ready.map(answers))).every(Boolean) && (await registered()) === 2;
      },
      { what: 'the sandbox to be up', timeout: 40_000, interval: 100 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- output\n${sandbox.output().slice(-4000)}`);
  }
}

/** SIGKILLs whatever a sandbox left running (after a failed test): never leave processes behind. */
export function killLeftovers(prefix: string): void {
  for (const proc of processesWithPrefix(prefix)) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/** What a sandbox test runs on: a database, a Redis prefix and a state file of its own. */
export interface SandboxWorld {
  db: Database;
  ns: RedisNamespace;
  /** Starts `npm start` on them and resolves once all of it is up. */
  start(): Promise<Sandbox>;
  /** Kills whatever is left, then drops the database, the Redis keys and the state file. */
  cleanup(): Promise<void>;
}

export async function sandboxWorld(name: string): Promise<SandboxWorld> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'dwld-sandbox-'));
  const [database, ns]: [TestDatabase, RedisNamespace] = await Promise.all([createTestDatabase(), createRedisNamespace(name)]);
  const db = createDatabase(database.url, { poolSize: 2 });
  return {
    db,
    ns,
    async start() {
      const sandbox = await startSandbox({ databaseUrl: database.url, redisUrl: ns.url, streamPrefix: ns.prefix, stateFile: path.join(stateDir, 'telegram-emulator.json') });
      await untilUp(sandbox, () => db.downloader.count());
      return sandbox;
    },
    async cleanup() {
      killLeftovers(ns.prefix);
      await db.$disconnect();
      await Promise.all([database.drop(), ns.cleanup()]);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
