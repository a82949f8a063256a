import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/**
 * The memory settings services run with everywhere (the Dockerfile and scripts/dwld.mjs set
 * the same): a modest young generation and an old generation capped well above the live set
 * (~25 MB), so V8 collects instead of letting the resident set grow under load; and two malloc
 * arenas instead of one per thread, which only reserve memory. Tighter heap settings cost the
 * gateway twice the CPU per update (bench/RESULTS.md).
 */
export const SERVICE_MEMORY_ENV: Readonly<Record<string, string>> = { NODE_OPTIONS: '--max-semi-space-size=4 --max-old-space-size=64', MALLOC_ARENA_MAX: '2' };

/**
 * Runs a built service (its dist/main.js) in its own process with exactly `env` (plus PATH),
 * as it ships: for tests of start-up, configuration errors, logs and signals.
 */
export function spawnService(mainJs: string, env: Record<string, string>): ServiceProcess {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: build first (pnpm build)`);
  const child = spawn(process.execPath, [mainJs], { env: { PATH: process.env.PATH ?? '', ...SERVICE_MEMORY_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}
