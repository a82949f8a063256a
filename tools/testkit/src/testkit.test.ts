import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createRedisNamespace, createTestDatabase, deferred, freePort, spawnService, waitFor } from './index';

describe('waitFor', () => {
  it('returns the first truthy value and retries through throws', async () => {
    let calls = 0;
    const value = await waitFor(() => {
      calls++;
      if (calls < 3) throw new Error('not yet');
      return calls === 4 ? 'done' : false;
    }, { interval: 1 });
    expect(value).toBe('done');
    expect(calls).toBe(4);
  });

  it('names what it waited for, with the last error, when it gives up', async () => {
    await expect(waitFor(() => { throw new Error('still down'); }, { timeout: 30, interval: 5, what: 'the thing' })).rejects.toThrow(/the thing.*still down/s);
  });
});

describe('deferred', () => {
  it('settles from outside', async () => {
    const d = deferred<number>();
    d.resolve(7);
    await expect(d.promise).resolves.toBe(7);
  });
});

describe('createTestDatabase', () => {
  it('gives each caller its own migrated database and drops it', async () => {
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    expect(a.name).not.toBe(b.name);
    const client = new Client({ connectionString: a.url });
    await client.connect();
    const { rows } = await client.query("SELECT to_regclass('public.links') AS t");
    expect(rows[0].t).toBe('links');
    await client.end();
    await Promise.all([a.drop(), b.drop()]);
    const admin = new Client({ connectionString: a.url.replace(a.name, 'postgres') });
    await admin.connect();
    const left = await admin.query('SELECT datname FROM pg_database WHERE datname = ANY($1)', [[a.name, b.name]]);
    await admin.end();
    expect(left.rowCount).toBe(0);
  });
});

describe('createRedisNamespace', () => {
  it('deletes only its own keys on cleanup', async () => {
    const [ns, other] = await Promise.all([createRedisNamespace('a'), createRedisNamespace('b')]);
    await ns.redis.set(`${ns.prefix}:x`, '1');
    await other.redis.set(`${other.prefix}:x`, '1');
    await ns.cleanup();
    expect(await other.redis.get(`${other.prefix}:x`)).toBe('1');
    expect(await other.redis.exists(`${ns.prefix}:x`)).toBe(0);
    await other.cleanup();
  });
});

describe('freePort', () => {
  it('returns a usable port number', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
  });
});

describe('spawnService', () => {
  let root: string;
  beforeAll(() => (root = mkdtempSync(path.join(tmpdir(), 'dwld-spawn-'))));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** The V8 heap limit, in MiB, of a stand-in main.js at services/<name>/dist. */
  async function heapLimitOf(service: string): Promise<number> {
    const main = path.join(root, 'services', service, 'dist', 'main.js');
    mkdirSync(path.dirname(main), { recursive: true });
    writeFileSync(main, "process.stdout.write(String(require('v8').getHeapStatistics().heap_size_limit / 1048576))");
    const proc = spawnService(main, {});
    expect(await proc.exited).toBe(0);
    return Number(proc.output());
  }

  it("runs the scheduler with its higher old-generation cap and every other service with the common one", async () => {
    // heap_size_limit is the old-generation cap plus the young generation.
    expect(await heapLimitOf('scheduler')).toBeGreaterThan(1000);
    const gateway = await heapLimitOf('bot-gateway');
    expect(gateway).toBeGreaterThan(60);
    expect(gateway).toBeLessThan(100);
  });
});
