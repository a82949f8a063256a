import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitFor } from '@dwld/testkit';

/** A redis-server of the test's own, with append-only persistence, that the test may restart. */
export interface OwnRedis {
  url: string;
  restart(): Promise<void>;
  /** Stops the server (an outage: every connection refused) until up(); what it held comes back from its append-only file. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** `args` are added to redis-server's command line (e.g. `['--maxmemory-policy', 'allkeys-lru']`). */
export async function startOwnRedis(options: { args?: string[] } = {}): Promise<OwnRedis> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dwld-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let server: ChildProcess | undefined;
  const launch = async () => {
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', ...(options.args ?? [])], { stdio: 'ignore' });
    await waitFor(async () => {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } finally {
        probe.disconnect();
      }
    }, { what: 'redis-server to answer', timeout: 10_000 });
  };
  const halt = async () => {
    const proc = server;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM'); // redis-server flushes the append-only file on SIGTERM
    await exited;
  };
  await launch();
  return {
    url,
    async restart() {
      await halt();
      await launch();
    },
    down: halt,
    up: launch,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
