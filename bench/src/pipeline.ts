// Scenario 1: dispatch pipeline. Links made due in PostgreSQL (+ one link.added event each),
// dispatched by 1 or 3 real scheduler processes to 4 downloader gRPC servers in another process.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { EventPublisher, linkAdded, outgoing } from '@dwld/events';
import { createRedisNamespace, createTestDatabase, freePort } from '@dwld/testkit';
import { Client } from 'pg';
import { benchServiceEnv, cpuMsOf, machineBusyMs, machineBusyShare, machineCpu, mainJs, percentile, sampleRss, sleep, spawnService, stopService, waitReady, type ServiceProcess } from './procs';

export const DOWNLOADERS = 4;
export const CONCURRENCY = 64;
export const CLAIM_BATCH = 200;

interface Report {
  calls: number;
  distinct: number;
  duplicates: number;
}

/** The forked process with the fake downloaders. */
export class FakeDownloaders {
  private constructor(
    private readonly child: ChildProcess,
    readonly ports: number[],
  ) {}

  static async start(count = DOWNLOADERS): Promise<FakeDownloaders> {
    const child = fork(path.join(__dirname, 'fake-downloaders.js'), [String(count)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ports = await new Promise<number[]>((resolve, reject) => {
      child.once('message', (m: { type: string; ports: number[] }) => resolve(m.ports));
      child.once('exit', (code) => reject(new Error(`fake downloaders exited (${code})`)));
    });
    return new FakeDownloaders(child, ports);
  }

  private ask<T>(type: string): Promise<T> {
    return new Promise((resolve) => {
      const on = (m: { type: string }) => {
        if (m.type !== type) return;
        this.child.off('message', on);
        resolve(m as T);
      };
      this.child.on('message', on);
      this.child.send({ type });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  reset = () => this.ask<unknown>('reset');
  report = () => this.ask<Report>('report');

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

const URL_BASE = 'https://www.youtube.com/watch?v=';

/**
 * Writes `n` links in one statement: send_at = now() (burst), or spread at `ratePerS` starting
 * `startInMs` from now (paced). Returns the rows for the link.added events.
 */
async function insertLinks(pg: Client, n: number, tag: string, paced?: { ratePerS: number; startInMs: number }) {
  const sendAt = paced ? `now() + ($3::float8 + (g - 1) * 1000.0 / $4::float8) * interval '1 millisecond'` : 'now()';
  const params: unknown[] = [n, `${URL_BASE}${tag}-`];
  if (paced) params.push(paced.startInMs, paced.ratePerS);
  const { rows } = await pg.query<{ id: number; url: string; send_at: Date }>(
    `INSERT INTO links (url, host, chat_id, user_id, quality, send_at, updated_at)
     SELECT $2::text || g, 'www.youtube.com', 123456789, 123456789, '1080', ${sendAt}, now()
       FROM generate_series(1, $1::int) g
     RETURNING id, url, send_at`,
    params,
  );
  return rows;
}

async function registerDownloaders(pg: Client, ports: number[]): Promise<void> {
  for (const [i, port] of ports.entries()) {
    await pg.query(
      `INSERT INTO downloaders (name, host, port, allowed_patterns, registered_at, last_seen_at, updated_at)
       VALUES ($1, '127.0.0.1', $2, ARRAY['*'], now(), now(), now())`,
      [`bench-dl-${i}`, port],
    );
  }
}

export interface DispatchFigures {
  schedulers: number;
  links: number;
  dispatched: number;
  /** links dispatched per second, first due → last dispatched */
  rate: number;
  lagP50: number;
  lagP95: number;
  lagP99: number;
  duplicates: number;
  lost: number;
  failed: number;
  /** MiB, one per scheduler process */
  peakRss: number[];
  /** MiB, the registry process running beside them (health-checking the downloaders) */
  registryPeakRss: number;
  /** CPU time per link dispatched, ms, from writing the links until the last was dispatched: all scheduler processes together, the downloaders' process, the whole machine (every process, all cores) */
  cpuMsPerLink: { schedulers: number; downloaders: number; machine: number };
  /** share of the machine's CPU time that was busy over that interval */
  machineBusy: number;
}

/** One link.added event per row, in batches of 500, as intake would publish them. */
async function publishAdded(publisher: EventPublisher, rows: Array<{ id: number; url: string; send_at: Date }>): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    await publisher.publishMany(
      rows.slice(i, i + 500).map((row) =>
        outgoing(linkAdded, {
          linkId: row.id,
          url: row.url,
          host: 'www.youtube.com',
          userId: '123456789',
          chatId: '123456789',
          username: null,
          quality: '1080',
          folder: null,
          sendAt: row.send_at.toISOString(),
        }),
      ),
    );
  }
}

/**
 * Waits until `n` links are dispatched, or nothing moved for 15 s (and the last send time, if
 * given, is 15 s past); returns how many were. Looks every 200 ms: the count costs PostgreSQL
 * ~1 ms at 20,000 rows, taken from the cores the pipeline runs on; the rate comes from the
 * rows' own times, so a later look changes nothing but the CPU window.
 */
async function waitDispatched(pg: Client, n: number, lastSendAtMs?: number): Promise<number> {
  let last = -1;
  let lastMoved = Date.now();
  for (;;) {
    const { rows: c } = await pg.query<{ n: number }>('SELECT count(*)::int AS n FROM dispatches');
    const done = c[0]!.n;
    if (done >= n) return done;
    if (done !== last) {
      last = done;
      lastMoved = Date.now();
    } else if (Date.now() - lastMoved > 15_000 && (lastSendAtMs === undefined || Date.now() - lastSendAtMs > 15_000)) return done;
    await sleep(200);
  }
}

/**
 * One run of the real pipeline on a fresh database and Redis prefix: the scheduler processes
 * first dispatch `warmUp` links (not measured), then the `n` links measured.
 */
export async function runDispatch(downloaders: FakeDownloaders, schedulers: number, n: number, paced?: { ratePerS: number }, warmUp = 0): Promise<DispatchFigures> {
  const db = await createTestDatabase();
  const ns = await createRedisNamespace('bench-pipe');
  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  const procs: ServiceProcess[] = [];
  const samplers: Array<ReturnType<typeof sampleRss>> = [];
  try {
    await registerDownloaders(pg, downloaders.ports);
    // The registry runs as in production: it health-checks the registered downloaders.
    const registryPort = await freePort();
    const registry = spawnService(mainJs('registry'), {
      ...benchServiceEnv({ databaseUrl: db.url, redisUrl: ns.url, prefix: ns.prefix, httpPort: registryPort }),
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: String(await freePort()),
    });
    procs.push(registry);
    await waitReady(registryPort, registry);
    const registrySampler = sampleRss(registry.child.pid!);
    samplers.push(registrySampler);
    const schedulerProcs: ServiceProcess[] = [];
    for (let i = 0; i < schedulers; i++) {
      const port = await freePort();
      const proc = spawnService(mainJs('scheduler'), {
        ...benchServiceEnv({ databaseUrl: db.url, redisUrl: ns.url, prefix: ns.prefix, httpPort: port }),
        CONSUMER_NAME: `bench-scheduler-${i}`,
        DISPATCH_CONCURRENCY: String(CONCURRENCY),
        CLAIM_BATCH_SIZE: String(CLAIM_BATCH),
      });
      procs.push(proc);
      schedulerProcs.push(proc);
      await waitReady(port, proc);
    }
    const schedulerSamplers = schedulerProcs.map((proc) => sampleRss(proc.child.pid!));
    samplers.push(...schedulerSamplers);
    await downloaders.reset();

    const publisher = new EventPublisher({ redis: ns.redis, prefix: ns.prefix });
    // Not measured: a scheduler runs for days, but a fresh process spends its first thousands
    // of links compiling (V8's optimizing compiler took about a fifth of the schedulers' CPU in
    // a cold 20,000-link burst, by perf), as (a)'s client would without its warm-up run.
    if (warmUp > 0) {
      await publishAdded(publisher, await insertLinks(pg, warmUp, `w${Date.now().toString(36)}`));
      const warmed = await waitDispatched(pg, warmUp);
      if (warmed < warmUp) throw new Error(`warm-up stalled: ${warmed} of ${warmUp} links dispatched`);
      await pg.query('TRUNCATE dispatches');
      await downloaders.reset();
    }

    const cpuNow = () => ({ schedulers: schedulerProcs.reduce((t, p) => t + cpuMsOf(p.child.pid!), 0), downloaders: cpuMsOf(downloaders.pid), machine: machineCpu() });
    const cpuBefore = cpuNow();
    const rows = await insertLinks(pg, n, `r${Date.now().toString(36)}`, paced ? { ratePerS: paced.ratePerS, startInMs: 1000 } : undefined);
    await publishAdded(publisher, rows);
    await waitDispatched(pg, n, paced ? rows[rows.length - 1]!.send_at.getTime() : undefined);
    const cpuAfter = cpuNow();
    await sleep(300); // let late duplicate calls (if any) arrive
    const peakRss = schedulerSamplers.map((s) => s.peak());
    const registryPeakRss = registrySampler.peak();

    const { rows: stats } = await pg.query<{ dispatched: number; distinct: number; seconds: number; p50: number; p95: number; p99: number }>(`
      SELECT count(*)::int AS dispatched, count(DISTINCT link_id)::int AS distinct,
             extract(epoch FROM max(dispatched_at) - min(send_at))::float8 AS seconds,
             percentile_cont(0.50) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched_at - send_at))::float8 AS p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched_at - send_at))::float8 AS p95,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched_at - send_at))::float8 AS p99
        FROM dispatches`);
    const { rows: left } = await pg.query<{ remaining: number; failed: number }>(
      `SELECT count(*)::int AS remaining, count(*) FILTER (WHERE status = 'failed')::int AS failed FROM links`,
    );
    const s = stats[0]!;
    const report = await downloaders.report();
    return {
      schedulers,
      links: n,
      dispatched: s.distinct,
      rate: s.distinct / s.seconds,
      lagP50: s.p50,
      lagP95: s.p95,
      lagP99: s.p99,
      // extra calls at the servers, or extra history rows for one link, whichever is larger
      duplicates: Math.max(report.duplicates, s.dispatched - s.distinct),
      lost: n - s.distinct - left[0]!.remaining,
      failed: left[0]!.failed,
      peakRss,
      registryPeakRss,
      cpuMsPerLink: {
        schedulers: (cpuAfter.schedulers - cpuBefore.schedulers) / Math.max(1, s.distinct),
        downloaders: (cpuAfter.downloaders - cpuBefore.downloaders) / Math.max(1, s.distinct),
        machine: machineBusyMs(cpuBefore.machine, cpuAfter.machine) / Math.max(1, s.distinct),
      },
      machineBusy: machineBusyShare(cpuBefore.machine, cpuAfter.machine),
    };
  } finally {
    samplers.forEach((s) => s.stop());
    await Promise.all(procs.map((p) => stopService(p)));
    await pg.end();
    await ns.cleanup();
    await db.drop();
  }
}

export interface BareCallFigures {
  /** calls/s */
  rate: number;
  /** mean ms per call */
  meanMs: number;
  /** CPU time per call, ms: this (the calling) process, the downloaders' process, the whole machine */
  cpuMsPerCall: { client: number; downloaders: number; machine: number };
  machineBusy: number;
}

/**
 * Baseline (a): bare SetToQueue calls from one process (a fresh child, bare-client.js),
 * round-robin over the servers. CPU is read from when the warmed-up child is told to go until
 * it reports.
 */
export async function bareCalls(downloaders: FakeDownloaders, n: number, concurrency: number): Promise<BareCallFigures> {
  const child = fork(path.join(__dirname, 'bare-client.js'), [downloaders.ports.join(','), String(n), String(concurrency)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const next = (type: string) =>
    Promise.race([
      new Promise<{ type: string; seconds: number; cpuMs: number }>((resolve) => child.once('message', resolve)),
      exited.then((code) => Promise.reject(new Error(`bare client exited (${code}) before "${type}"`))),
    ]);
  await next('ready');
  const before = { downloaders: cpuMsOf(downloaders.pid), machine: machineCpu() };
  child.send({ type: 'go' });
  const done = await next('done');
  const after = { downloaders: cpuMsOf(downloaders.pid), machine: machineCpu() };
  await exited;
  return {
    rate: n / done.seconds,
    meanMs: (done.seconds * 1000 * concurrency) / n,
    cpuMsPerCall: {
      client: done.cpuMs / n,
      downloaders: (after.downloaders - before.downloaders) / n,
      machine: machineBusyMs(before.machine, after.machine) / n,
    },
    machineBusy: machineBusyShare(before.machine, after.machine),
  };
}

/** Baseline (b): claim with UPDATE … FOR UPDATE SKIP LOCKED in batches (each in a transaction with the scheduler's setting), then DELETE, on a fresh clone. rows/s */
export async function bareSql(n: number, batch = CLAIM_BATCH): Promise<number> {
  const db = await createTestDatabase();
  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  try {
    await insertLinks(pg, n, 'sql');
    let claimed = 0;
    const start = process.hrtime.bigint();
    for (;;) {
      // As the scheduler claims: sorting ruled out, so the claim walks the (status, send_at, id) index.
      await pg.query('BEGIN; SET LOCAL enable_sort = off');
      const { rows } = await pg.query<{ id: number }>(
        `WITH due AS MATERIALIZED (
           SELECT id FROM links
            WHERE status = 'queued' AND send_at <= now() AND (claim_owner IS NULL OR claim_expires_at < now())
            ORDER BY send_at, id LIMIT $1::int FOR UPDATE SKIP LOCKED)
         UPDATE links l SET claim_owner = 'bench', claim_expires_at = now() + interval '30 seconds'
           FROM due WHERE l.id = due.id
         RETURNING l.id`,
        [batch],
      );
      await pg.query('COMMIT');
      if (rows.length === 0) break;
      await pg.query('DELETE FROM links WHERE id = ANY($1::int[]) AND claim_owner = $2', [rows.map((r) => r.id), 'bench']);
      claimed += rows.length;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return claimed / seconds;
  } finally {
    await pg.end();
    await db.drop();
  }
}

/**
 * Baseline (c): the original Go design, computed. One loop on a fixed 71 s ticker sends every
 * due link one after another (`callMs` each); a tick missed while sending fires as soon as the
 * batch ends (Go's ticker buffers one). The ticker's phase against the load is unknown, so
 * lags are pooled over 71 evenly spread phases. `dueMs` sorted ascending, ms from t = 0.
 */
export function goDesignLags(dueMs: number[], callMs: number, tickMs = 71_000, phases = 71): { p50: number; p95: number; p99: number; rate: number } {
  const lags = new Float64Array(dueMs.length * phases);
  let k = 0;
  for (let ph = 0; ph < phases; ph++) {
    let tick = ((ph + 0.5) * tickMs) / phases;
    let i = 0;
    while (i < dueMs.length) {
      while (dueMs[i]! > tick) tick += tickMs;
      let cursor = tick;
      while (i < dueMs.length && dueMs[i]! <= tick) {
        cursor += callMs;
        lags[k++] = cursor - dueMs[i]!;
        i++;
      }
      tick = Math.max(tick + tickMs, cursor);
    }
  }
  lags.sort();
  return { p50: percentile(lags, 0.5) / 1000, p95: percentile(lags, 0.95) / 1000, p99: percentile(lags, 0.99) / 1000, rate: 1000 / callMs };
}
