import { readFileSync } from 'node:fs';
import path from 'node:path';
import { spawnService, type ServiceProcess } from '@dwld/testkit';

export const REPO = path.resolve(__dirname, '../..');
export const mainJs = (service: string) => path.join(REPO, 'services', service, 'dist', 'main.js');

/**
 * The environment every benchmarked service starts from: as in production (JSON logs, warnings
 * only), on the run's own database and Redis prefix, HTTP on loopback. `nodeOptions` (from
 * BENCH_NODE_OPTIONS, e.g. `--require $PWD/bench/cpu-profile-hook.js`) is for a look inside, not for
 * figures: it replaces the services' default heap settings.
 */
export function benchServiceEnv(
  where: { databaseUrl: string; redisUrl: string; prefix: string; httpPort: number },
  nodeOptions = process.env.BENCH_NODE_OPTIONS,
): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: where.databaseUrl,
    REDIS_URL: where.redisUrl,
    STREAM_PREFIX: where.prefix,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(where.httpPort),
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
  };
}

/** VmRSS and VmHWM of a process in MiB (0 when it is gone). */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** CPU time (user + system) a process has used, in ms (10 ms resolution). */
export function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** The machine's CPU time so far (all cores): idle (idle + iowait) and total, in clock ticks. */
export function machineCpu(): { idle: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: cpu[3]! + (cpu[4] ?? 0), total: cpu.reduce((a, b) => a + b, 0) };
}

/** Linux's USER_HZ: 100 on every mainstream architecture. */
export const CLOCK_TICKS = 100;

/** Busy CPU time of the whole machine (all cores, all processes) between two machineCpu() readings, ms. */
export function machineBusyMs(before: { idle: number; total: number }, after: { idle: number; total: number }): number {
  return ((after.total - before.total - (after.idle - before.idle)) * 1000) / CLOCK_TICKS;
}

/** Share of the machine's CPU time that was busy between two machineCpu() readings. */
export function machineBusyShare(before: { idle: number; total: number }, after: { idle: number; total: number }): number {
  return 1 - (after.idle - before.idle) / Math.max(1, after.total - before.total);
}

/** Samples VmRSS every `everyMs`; peak() is the larger of the sampled maximum and VmHWM. */
export function sampleRss(pid: number, everyMs = 100): { peak(): number; stop(): void } {
  let max = 0;
  const timer = setInterval(() => (max = Math.max(max, memoryOf(pid).rss)), everyMs);
  return {
    peak: () => Math.max(max, memoryOf(pid).hwm),
    stop: () => clearInterval(timer),
  };
}

export async function waitReady(port: number, proc: ServiceProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`service exited before ready:\n${proc.output().slice(-2000)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`not ready on :${port} after ${timeoutMs} ms:\n${proc.output().slice(-2000)}`);
    await sleep(100);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopService(proc: ServiceProcess, graceMs = 10_000): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

export { spawnService, type ServiceProcess };

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i]!;
}
