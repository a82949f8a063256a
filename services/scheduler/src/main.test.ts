import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createDatabase, type Database } from '@dwld/db';
import { createRedisNamespace, createTestDatabase, CuttableProxy, deferred, spawnService, waitFor, type RedisNamespace, type TestDatabase } from '@dwld/testkit';
import { FakeDownloader, Status, refuse, register } from './testing/harness';

// The service as it ships: the built dist/main.js in its own process (turbo builds before testing).
const MAIN = path.resolve(__dirname, '../dist/main.js');

interface Running {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>, name = 'scheduler'): Running {
  return { name, ...spawnService(MAIN, env) };
}

function logLines(proc: Running): Array<Record<string, unknown>> {
  return proc
    .output()
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The ops port the process bound (HTTP_PORT=0), from its "scheduler started" line. */
async function started(proc: Running): Promise<number> {
  const line = await waitFor(() => logLines(proc).find((l) => l.message === 'scheduler started'), { what: `${proc.name} to start`, timeout: 20_000 });
  return Number(String(line.http).split(':').pop());
}

async function metric(port: number, pattern: RegExp): Promise<number> {
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const match of body.matchAll(pattern)) total += Number(match[1]);
  return total;
}

describe('scheduler processes (dist/main.js)', () => {
  let database: TestDatabase;
  let redisNs: RedisNamespace;
  let db: Database;
  const processes: Running[] = [];
  const downloaders: FakeDownloader[] = [];

  beforeAll(async () => {
    [database, redisNs] = await Promise.all([createTestDatabase(), createRedisNamespace('scheduler-main')]);
    db = createDatabase(database.url, { poolSize: 4 });
  });
  afterAll(async () => {
    await db.$disconnect();
    await Promise.all([database.drop(), redisNs.cleanup()]);
  });
  afterEach(async () => {
    for (const proc of processes.splice(0)) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
      await proc.exited;
    }
    await Promise.all(downloaders.splice(0).map((d) => d.stop()));
    await db.link.deleteMany();
    await db.dispatch.deleteMany();
    await db.downloader.deleteMany();
  });

  function env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: database.url,
      REDIS_URL: redisNs.url,
      STREAM_PREFIX: redisNs.prefix,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      SCHEDULER_INTERVAL_S: '0.2',
      CLAIM_LEASE_S: '2',
      DOWNLOADER_DEADLINE_S: '0.5',
      DISPATCH_CONCURRENCY: '8',
      ...extra,
    };
  }

  function spawnScheduler(name: string, extra: Record<string, string> = {}): Running {
    const proc = run(env({ CONSUMER_NAME: name, ...extra }), name);
    processes.push(proc);
    return proc;
  }

  it.each([
    [{ DATABASE_URL: '' }, 'Invalid configuration: DATABASE_URL is required'],
    [{ SCHEDULER_INTERVAL_S: 'often' }, 'Invalid configuration: SCHEDULER_INTERVAL_S is invalid: must be a number of seconds'],
    [{ CLAIM_LEASE_S: '1', DOWNLOADER_DEADLINE_S: '5' }, 'Invalid configuration: CLAIM_LEASE_S is invalid: must be at least twice DOWNLOADER_DEADLINE_S'],
    [{ MAX_ATTEMPTS: 'many' }, 'Invalid configuration: MAX_ATTEMPTS is invalid: must be a whole number'],
    [{ DATABASE_URL: 'mysql://root:hunter2@db/x' }, 'Invalid configuration: DATABASE_URL is invalid: must be a postgres or postgresql URL'],
  ])('refuses to start with %j, in one line', async (bad, line) => {
    const proc = run({ ...env(), ...bad });
    expect(await proc.exited).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toEqual([line]);
    expect(proc.output()).not.toContain('hunter2');
  });

  /** Three downloaders taking everything, counting the calls per link across all of them. */
  async function fleet() {
    const calls = new Map<string, number>();
    for (const name of ['d1', 'd2', 'd3']) {
      const d = await FakeDownloader.start(name, (request) => void calls.set(request.link, (calls.get(request.link) ?? 0) + 1));
      downloaders.push(d);
      await register(db, d, ['*']);
    }
    return calls;
  }

  async function addLinks(count: number, tag: string): Promise<string[]> {
    const urls = Array.from({ length: count }, (_, i) => `https://example.com/${tag}/${i}`);
    const sendAt = new Date(Date.now() - 1000);
    await db.link.createMany({
      data: urls.map((url, i) => ({ url, host: 'example.com', chatId: BigInt(i + 1), userId: BigInt(i + 1), username: `u${i}`, quality: 'max', sendAt })),
    });
    return urls;
  }

  it('three processes racing over 2,000 due links dispatch every link exactly once', async () => {
    const calls = await fleet();
    const procs = ['race-1', 'race-2', 'race-3'].map((name) => spawnScheduler(name));
    const ports = await Promise.all(procs.map(started));
    const urls = await addLinks(2000, 'race');

    await waitFor(async () => (await db.link.count()) === 0, { what: 'every link dispatched', timeout: 40_000, interval: 100 });
    expect(calls.size).toBe(2000);
    expect(urls.filter((url) => calls.get(url) !== 1)).toEqual([]);
    expect(await db.dispatch.count()).toBe(2000);
    // Every replica took part.
    const perProcess = await Promise.all(ports.map((port) => metric(port, /^dwld_scheduler_links_dispatched_total\{[^}]*\} (\d+)$/gm)));
    expect(perProcess.reduce((a, b) => a + b, 0)).toBe(2000);
    for (const count of perProcess) expect(count).toBeGreaterThan(0);

    for (const proc of procs) proc.child.kill('SIGTERM');
    expect(await Promise.all(procs.map((p) => p.exited))).toEqual([0, 0, 0]);
  }, 60_000);

  it('with one of three killed (SIGKILL) mid-run, every link is still dispatched; only its claimed links may go twice', async () => {
    const calls = await fleet();
    const [victim, ...survivors] = ['kill-1', 'kill-2', 'kill-3'].map((name) => spawnScheduler(name));
    await Promise.all([victim!, ...survivors].map(started));
    const urls = await addLinks(2000, 'kill');

    // Mid-run: links flowing, and the victim holding claims.
    await waitFor(
      async () => {
        let sent = 0;
        for (const n of calls.values()) sent += n;
        return sent >= 300 && (await db.link.count({ where: { claimOwner: { startsWith: 'kill-1#' } } })) > 0;
      },
      { what: 'the run under way with the victim holding claims', interval: 5, timeout: 20_000 },
    );
    victim!.child.kill('SIGKILL');
    await victim!.exited;
    const heldAtKill = new Set((await db.link.findMany({ where: { claimOwner: { startsWith: 'kill-1#' } }, select: { url: true } })).map((l) => l.url));

    await waitFor(async () => (await db.link.count()) === 0, { what: 'every link dispatched after the kill', timeout: 40_000, interval: 100 });
    expect(urls.filter((url) => !calls.has(url))).toEqual([]);
    const twice = urls.filter((url) => (calls.get(url) ?? 0) > 1);
    // A link goes twice only if the victim had handed it over but not yet recorded it: it held it then.
    expect(twice.filter((url) => !heldAtKill.has(url))).toEqual([]);
    expect(urls.filter((url) => (calls.get(url) ?? 0) > 2)).toEqual([]);
    expect(heldAtKill.size).toBeLessThanOrEqual(8); // DISPATCH_CONCURRENCY: never claims more than it can send
    const history = await db.dispatch.findMany({ select: { linkId: true } });
    expect(new Set(history.map((h) => h.linkId)).size).toBe(2000);

    for (const proc of survivors) proc.child.kill('SIGTERM');
    expect(await Promise.all(survivors.map((p) => p.exited))).toEqual([0, 0]);
  }, 60_000);

  it('through a silent partition (a proxy holding bytes): /readyz false within its timeout, /metrics answering, one line; then it resumes by itself', async () => {
    const proxy = await CuttableProxy.start({ host: '127.0.0.1', port: Number(new URL(database.url).port || 5432) });
    try {
      const calls = await fleet();
      const proc = spawnScheduler('partitioned', { DATABASE_URL: proxy.urlFor(database.url), DATABASE_QUERY_TIMEOUT_S: '1.5', DATABASE_CONNECT_TIMEOUT_S: '1' });
      const port = await started(proc);
      const [before] = await addLinks(1, 'before-partition');
      // Dispatched and recorded (a hand-over the partition keeps from being recorded past its lease is tried again: at least once).
      await waitFor(async () => calls.has(before!) && (await db.link.count()) === 0, { what: 'a link dispatched and recorded before the partition' });
      const readyz = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).json() as Promise<{ status: string; checks: Record<string, string> }>;
      expect(await readyz()).toMatchObject({ status: 'ready' });

      proxy.hold();
      const [during] = await addLinks(1, 'during-partition');
      await waitFor(async () => (await readyz()).status === 'not ready', { what: '/readyz to turn false' });
      expect((await readyz()).checks).toEqual({ database: expect.stringMatching(/failing|timed out/), redis: 'ok' });
      // The due count cannot be had; the scrape does not wait for it.
      expect(await metric(port, /^dwld_scheduler_links_due\{[^}]*\} (\d+)$/gm)).toBeGreaterThanOrEqual(0);
      await waitFor(() => logLines(proc).some((l) => l.message === 'database unreachable'), { what: 'the outage logged' });
      // The polls keep failing meanwhile (each by its timeout), and say nothing more.
      const polls = () => metric(port, /^dwld_scheduler_polls_total\{[^}]*outcome="error"[^}]*\} (\d+)$/gm);
      await waitFor(async () => (await polls()) >= 3, { what: 'three failed polls', timeout: 20_000 });
      expect(calls.has(during!)).toBe(false);
      expect(proc.child.exitCode).toBeNull();

      proxy.release();
      await waitFor(() => calls.has(during!), { what: 'the link added during the partition dispatched once it healed', timeout: 20_000 });
      await waitFor(async () => (await readyz()).status === 'ready', { what: '/readyz to turn true again' });
      const messages = logLines(proc).map((l) => l.message);
      expect(messages.filter((m) => m === 'database unreachable')).toHaveLength(1);
      expect(messages.filter((m) => m === 'database unavailable: cannot claim links')).toHaveLength(1);
      expect(messages).toContain('database reachable again');
      expect([...calls.values()]).toEqual([1, 1]);
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    } finally {
      proxy.release();
      await proxy.down();
    }
  }, 60_000);

  it('serves /healthz, /readyz and /metrics, and on SIGTERM finishes calls in flight, releases the rest, and exits 0', async () => {
    const finish = deferred();
    const failLater = deferred();
    const slow = await FakeDownloader.start('slow', () => finish.promise);
    const flaky = await FakeDownloader.start('flaky', async () => {
      await failLater.promise;
      refuse(Status.UNAVAILABLE, 'gone');
    });
    const spare = await FakeDownloader.start('spare');
    downloaders.push(slow, flaky, spare);
    await register(db, slow, ['slow.example']);
    await register(db, flaky, ['next.example']);
    await register(db, spare, ['next.example'], false); // unhealthy: tried after flaky
    const sendAt = new Date(Date.now() - 1000);
    const link = (url: string, i: number) => ({ url, host: new URL(url).hostname, chatId: BigInt(i), userId: BigInt(i), quality: '720', sendAt });
    // The first two take both dispatch slots; the third waits unclaimed.
    await db.link.create({ data: link('https://slow.example/1', 1) });
    await db.link.create({ data: link('https://next.example/1', 2) });
    await db.link.create({ data: { ...link('https://slow.example/later', 3), sendAt: new Date(Date.now() - 10) } });

    const proc = spawnScheduler('graceful', { DISPATCH_CONCURRENCY: '2', CLAIM_LEASE_S: '30', DOWNLOADER_DEADLINE_S: '10' });
    const port = await started(proc);
    await waitFor(() => slow.inFlight === 1 && flaky.inFlight === 1, { what: 'two calls in flight' });

    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
    expect(await metric(port, /^dwld_scheduler_links_in_flight\{[^}]*\} (\d+)$/gm)).toBe(2);
    expect(await metric(port, /^dwld_scheduler_links_due\{[^}]*\} (\d+)$/gm)).toBe(3);
    expect(await metric(port, /^dwld_scheduler_links_claimed_total\{[^}]*\} (\d+)$/gm)).toBe(2);

    proc.child.kill('SIGTERM');
    await waitFor(() => logLines(proc).some((l) => l.message === 'stopping'), { what: 'the process to start stopping' });
    finish.resolve();
    failLater.resolve();
    expect(await proc.exited).toBe(0);

    const rows = await db.link.findMany({ orderBy: { url: 'asc' } });
    expect(rows.map((r) => [r.url, r.claimOwner, r.attempts])).toEqual([
      ['https://next.example/1', null, 0],
      ['https://slow.example/later', null, 0],
    ]);
    expect(await db.dispatch.findMany()).toEqual([expect.objectContaining({ url: 'https://slow.example/1', downloader: 'slow' })]);
    expect(slow.links()).toEqual(['https://slow.example/1']);
    expect(spare.calls).toHaveLength(0);
    expect(logLines(proc).map((l) => l.message)).toEqual(expect.arrayContaining(['scheduler started', 'stopping', 'stopped']));
    expect(proc.output()).not.toContain(database.url);
  }, 30_000);
});
