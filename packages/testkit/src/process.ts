import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** The V8 flags services run with everywhere (the Dockerfile's CMD says the same): a small young generation. */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=2'] as const;

/**
 * Runs a built service (its dist/main.js) in its own process with exactly `env` (plus PATH),
 * as it ships: for tests of start-up, configuration errors, logs and signals.
 */
export function spawnService(mainJs: string, env: Record<string, string>): ServiceProcess {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: build first (pnpm build)`);
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, mainJs], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}
