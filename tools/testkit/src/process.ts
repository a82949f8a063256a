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
export const SERVICE_MEMORY_ENV = memoryEnv(64);

/**
 * The scheduler's: a higher old-generation cap. V8 lets the old generation grow by a factor
 * that rises with the cap (about 1.3 at 64 MB, 1.6 at 1 GB) before it marks and compacts. A
 * dispatching scheduler promotes most of each in-flight call's objects, so at 64 MB it
 * compacted every ~0.4 s, and each compaction also dropped grpc-js's optimized per-call
 * closures, which V8 then compiled again: about a fifth of its CPU went to that compiler in
 * the dispatch benchmark. With 1 GB: ~12% less scheduler CPU per link, ~8 MiB more at peak.
 * The heap still settles a little above the live set; the cap only matters for a leak.
 */
export const SCHEDULER_MEMORY_ENV = memoryEnv(1024);

/** The settings every service shares; only the old generation's cap differs between them. */
function memoryEnv(oldSpaceMb: number): Readonly<Record<string, string>> {
  return { NODE_OPTIONS: `--max-semi-space-size=4 --max-old-space-size=${oldSpaceMb}`, MALLOC_ARENA_MAX: '2' };
}

/** The memory settings of the service whose dist/main.js this is. */
export function serviceMemoryEnv(mainJs: string): Readonly<Record<string, string>> {
  return /[\\/]services[\\/]scheduler[\\/]/.test(mainJs) ? SCHEDULER_MEMORY_ENV : SERVICE_MEMORY_ENV;
}

/**
 * Runs a built service (its dist/main.js) in its own process with its memory settings and
 * exactly `env` (plus PATH), as it ships: for tests of start-up, configuration errors, logs
 * and signals.
 */
export function spawnService(mainJs: string, env: Record<string, string>): ServiceProcess {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: build first (pnpm build)`);
  const child = spawn(process.execPath, [mainJs], { env: { PATH: process.env.PATH ?? '', ...serviceMemoryEnv(mainJs), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}
