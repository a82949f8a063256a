// Scenario 2: intake. Distinct people each send one link through the in-repo Telegram Bot API
// emulator to the real gateway process (long polling, or webhook); the gateway stores each link
// and answers through its rate-limited outbox. Measured: how fast links are stored, and what the
// outbox sends per second overall and per chat, until every person has their reply.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TelegramEmulator, type CallRecord } from '@dwld/telegram-emulator';
import { createRedisNamespace, createTestDatabase, freePort } from '@dwld/testkit';
import { Client } from 'pg';
import { benchServiceEnv, cpuMsOf, machineBusyMs, machineBusyShare, machineCpu, mainJs, percentile, sampleRss, sleep, spawnService, stopService, waitReady, type ServiceProcess } from './procs';

export type IntakeMode = 'polling' | 'webhook';
export const INTAKE_MODES: readonly IntakeMode[] = ['polling', 'webhook'];

/**
 * Telegram's default max_connections for a webhook: how many updates it has in flight at once
 * (the gateway sets none). The emulator delivers that many at once, as Telegram does.
 */
export const WEBHOOK_CONNECTIONS = 40;
/** The gateway's defaults (TELEGRAM_MAX_PER_SECOND, TELEGRAM_CHAT_INTERVAL_S): Telegram's limits. */
export const TELEGRAM_MAX_PER_SECOND = 30;
export const TELEGRAM_PER_CHAT_PER_SECOND = 1;

const TOKEN = '1234567:bench-token-emulated-only';
const SECRET = 'bench-webhook-secret-0123456789';
const WEBHOOK_PATH = '/telegram/webhook';
const FIRST_USER_ID = 700_000_000;
const URL_BASE = 'https://www.youtube.com/watch?v=';
/** People who send a link before the first burst (connection pools, first queries). */
export const WARMUP_USERS = 50;
/**
 * Bursts a gateway takes before the measured ones. A fresh process spends its first thousands
 * of updates compiling its hot paths: in a first burst here about half of the gateway's CPU
 * went to V8's optimizing compiler threads, and webhook rates still rose over the first two
 * to four bursts.
 */
export const INTAKE_WARM_BURSTS = 3;
/** Bot API methods that are not messages (setup, polling): not counted as sends. */
const NOT_SENDS = new Set(['getme', 'getupdates', 'setwebhook', 'deletewebhook', 'getwebhookinfo', 'setmycommands', 'getmycommands', 'deletemycommands', 'logout', 'close']);

export interface IntakeFigures {
  mode: IntakeMode;
  users: number;
  stored: number;
  /** links stored per second, first update injected → last link stored */
  rate: number;
  /** ms, update injected → links.created_at */
  lagP50: number;
  lagP99: number;
  /** most message calls (sendMessage, edits, deletions) the emulator received in any 1 s window, all chats */
  maxPerSecond: number;
  /** the same, in one chat */
  maxPerChatPerSecond: number;
  /** people with at least one reply (sendMessage answered ok) */
  replied: number;
  /** sendMessage calls beyond one per person */
  extraReplies: number;
  /** message calls the emulator refused */
  refusedCalls: number;
  /** s, first update injected → last reply received */
  repliesDoneS: number;
  /** MiB */
  peakRss: number;
  /** webhook: deliveries the gateway answered with something other than 2xx, or failed (retried) */
  webhookRetries: number;
  /** CPU time (user + system) the gateway process used from the burst until every link was stored, per link, ms */
  gatewayCpuMsPerUpdate: number;
  /** share of the whole machine's CPU time busy over that interval (all processes, all cores) */
  machineBusy: number;
  /** busy CPU time of the whole machine over that interval (gateway, PostgreSQL, Redis, the bench…), per link, ms */
  machineCpuMsPerUpdate: number;
}

/** Most events in any window of `windowMs` (times in ms, any order). */
export function maxInWindow(times: number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/**
 * The harness's own ceiling for the webhook row: the emulator delivering `n` updates (as it
 * does to the gateway) to a server that answers at once. Updates/s.
 */
export async function harnessCeiling(n: number): Promise<number> {
  const watch = watchdog('intake harness ceiling');
  const emulator = new TelegramEmulator({ bots: [{ token: TOKEN }], people: [] });
  await emulator.start();
  let received = 0;
  let allIn: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (allIn = resolve));
  const sink = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.end();
      if (++received === n) allIn!();
    });
  });
  sink.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}${WEBHOOK_PATH}`;
    const reply = await emulator.callApi(TOKEN, 'setWebhook', { url, secret_token: SECRET });
    if (!reply.body.ok) throw new Error(`setWebhook: ${JSON.stringify(reply.body)}`);
    const users = Array.from({ length: n }, (_, i) => emulator.user({ id: FIRST_USER_ID + i }));
    const start = performance.now();
    users.forEach((user, i) => user.sendText(`${URL_BASE}ceiling-${i}`));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`harness ceiling: ${received}/${n} after 60 s`)), 60_000)));
    await Promise.race([done, timeout]).finally(() => clearTimeout(timer));
    return n / ((performance.now() - start) / 1000);
  } finally {
    watch.stage('cleaning up');
    await new Promise<void>((resolve) => {
      sink.close(() => resolve());
      sink.closeAllConnections();
    });
    await emulator.stop();
    watch.stop();
  }
}

export interface IntakeOptions {
  /** People per burst; each sends one link. */
  users: number;
  /** Bursts handled first and not measured: the gateway's JIT compiles its hot paths then. */
  warmBursts: number;
  /** Measured bursts after them. */
  runs: number;
  /** Told each burst's figures as it ends (the first warmBursts are not measured). */
  onBurst?: (figures: IntakeFigures, burst: number) => void;
}

/**
 * One gateway process (on a fresh database, Redis prefix and emulator) takes `warmBursts` +
 * `runs` bursts one after another, each of `users` new people sending one link at once; a burst
 * starts once every person of the one before has their reply. Returns every burst's figures,
 * the unmeasured ones first.
 */
export async function runIntake(mode: IntakeMode, options: IntakeOptions): Promise<IntakeFigures[]> {
  const { users } = options;
  const db = await createTestDatabase();
  const ns = await createRedisNamespace('bench-intake');
  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  const emulator = new TelegramEmulator({ bots: [{ token: TOKEN }], people: [], maxCallLog: 100 });
  const { url: apiRoot } = await emulator.start();
  let gateway: ServiceProcess | undefined;
  let sampler: ReturnType<typeof sampleRss> | undefined;
  const watch = watchdog(`intake ${mode}`);

  // Every Bot API call the gateway makes, as the emulator receives it.
  const calls: Array<{ method: string; at: number; chatId: string; ok: boolean }> = [];
  const onCall = (call: CallRecord) => calls.push({ method: call.method.toLowerCase(), at: call.at, chatId: String(call.params.chat_id ?? ''), ok: call.response.ok });
  emulator.on('call', onCall);
  let webhookFailures = 0;
  const onWebhookFailed = () => webhookFailures++;
  emulator.on('webhookFailed', onWebhookFailed);

  try {
    const bursts = options.warmBursts + options.runs;
    // Each burst has its own people: ids FIRST_USER_ID + burst × users + i.
    const burstIds = (burst: number) => Array.from({ length: users }, (_, i) => String(FIRST_USER_ID + burst * users + i));
    const warmIds = Array.from({ length: WARMUP_USERS }, (_, i) => String(FIRST_USER_ID - 1 - i));
    const port = await freePort();
    gateway = spawnService(mainJs('bot-gateway'), {
      ...benchServiceEnv({ databaseUrl: db.url, redisUrl: ns.url, prefix: ns.prefix, httpPort: port }),
      CONSUMER_NAME: 'bench-gateway',
      TELEGRAM_API_ROOT: apiRoot,
      TELEGRAM_BOT_TOKEN: TOKEN,
      // Access by configuration: no database lookup per update.
      ALLOWED_IDS: [...warmIds, ...Array.from({ length: bursts }, (_, burst) => burstIds(burst)).flat()].join(','),
      ...(mode === 'polling' ? {} : { WEBHOOK_URL: `http://127.0.0.1:${port}${WEBHOOK_PATH}`, WEBHOOK_SECRET: SECRET }),
    });
    watch.stage('waiting for the gateway');
    await waitReady(port, gateway);
    // /readyz answers before start() has registered the webhook or begun polling.
    if (mode === 'polling') await emulator.waitForPolling(undefined, 30_000);
    else {
      const deadline = Date.now() + 30_000;
      while (emulator.webhookInfo().url === '') {
        if (Date.now() > deadline) throw new Error(`the gateway set no webhook:\n${gateway.output().slice(-2000)}`);
        await sleep(20);
      }
    }
    sampler = sampleRss(gateway.child.pid!);
    const tag = `${mode}-${Date.now().toString(36)}`;

    // A few people first (connection pools, Prisma's first queries), until they have their
    // replies. Their links (user ids below FIRST_USER_ID) are left out of the figures.
    watch.stage('warming up');
    const warmStart = Date.now();
    for (const [i, id] of warmIds.entries()) emulator.user({ id: Number(id) }).sendText(`${URL_BASE}${tag}-warm-${i}`);
    const warmChats = new Set(warmIds);
    while (new Set(calls.filter((c) => c.method === 'sendmessage' && c.ok && warmChats.has(c.chatId)).map((c) => c.chatId)).size < WARMUP_USERS) {
      if (Date.now() - warmStart > 60_000) throw new Error(`warm-up: no replies after 60 s:\n${gateway.output().slice(-2000)}`);
      await sleep(50);
    }
    await sleep(1_100); // past the last warm-up send's second

    const figures: IntakeFigures[] = [];
    for (let burst = 0; burst < bursts; burst++) {
      const ids = burstIds(burst);
      const f = await measureBurst(ids, `${tag}-b${burst}`, burst);
      figures.push(f);
      options.onBurst?.(f, burst);
    }
    return figures;
  } finally {
    watch.stage('cleaning up');
    emulator.off('call', onCall);
    emulator.off('webhookFailed', onWebhookFailed);
    sampler?.stop();
    if (gateway) await stopService(gateway);
    await emulator.stop();
    await pg.end();
    await ns.cleanup();
    await db.drop();
    watch.stop();
  }

  /** One burst: these people each send their link at once; figures until each has a reply. */
  async function measureBurst(ids: string[], tag: string, burst: number): Promise<IntakeFigures> {
    const firstId = Number(ids[0]);
    const lastId = Number(ids[ids.length - 1]);
    const people = ids.map((id) => emulator.user({ id: Number(id) }));
    calls.length = 0;
    webhookFailures = 0;

    watch.stage(`burst ${burst + 1}: injecting`);
    // BENCH_PROFILE_SIGNAL=SIGUSR2: told to the gateway when a burst starts and when its last
    // link is stored, for a profiler hook (BENCH_NODE_OPTIONS) to cover just that window. The
    // hook must handle the signal: by default SIGUSR2 ends the process.
    const profileSignal = process.env.BENCH_PROFILE_SIGNAL as NodeJS.Signals | undefined;
    if (profileSignal) gateway!.child.kill(profileSignal);
    const cpuBefore = { gateway: cpuMsOf(gateway!.child.pid!), machine: machineCpu() };
    // The burst: everyone sends their link at (nearly) the same moment.
    const injectedAt = new Map<string, number>();
    for (const [i, person] of people.entries()) {
      injectedAt.set(ids[i]!, Date.now());
      person.sendText(`${URL_BASE}${tag}-${i}`);
    }
    const firstInjected = injectedAt.get(ids[0]!)!;

    watch.stage(`burst ${burst + 1}: waiting for the links to be stored`);
    // Stored: wait for every row (or 15 s without progress).
    let stored = 0;
    let lastMoved = Date.now();
    for (;;) {
      const { rows } = await pg.query<{ n: number }>('SELECT count(*)::int AS n FROM links WHERE user_id BETWEEN $1 AND $2', [firstId, lastId]);
      if (rows[0]!.n !== stored) {
        stored = rows[0]!.n;
        lastMoved = Date.now();
      }
      if (stored >= ids.length || Date.now() - lastMoved > 15_000) break;
      await sleep(25);
    }
    const cpuAfter = { gateway: cpuMsOf(gateway!.child.pid!), machine: machineCpu() };
    if (profileSignal) gateway!.child.kill(profileSignal);
    const { rows } = await pg.query<{ user_id: string; created: number }>(
      'SELECT user_id::text, (extract(epoch FROM created_at) * 1000)::float8 AS created FROM links WHERE user_id BETWEEN $1 AND $2',
      [firstId, lastId],
    );
    const lags = new Float64Array(rows.map((row) => row.created - injectedAt.get(row.user_id)!)).sort();
    const lastStored = Math.max(...rows.map((row) => row.created));

    watch.stage(`burst ${burst + 1}: waiting for the replies`);
    // Replies: wait until every person has one (or 15 s without a new one), then a little longer for strays.
    const repliedChats = () => new Set(calls.filter((c) => c.method === 'sendmessage' && c.ok).map((c) => c.chatId));
    let replied = 0;
    lastMoved = Date.now();
    for (;;) {
      const now = repliedChats().size;
      if (now !== replied) {
        replied = now;
        lastMoved = Date.now();
      }
      if (replied >= ids.length || Date.now() - lastMoved > 15_000) break;
      await sleep(100);
    }
    await sleep(1_500);
    const peakRss = sampler!.peak();

    const sends = calls.filter((c) => !NOT_SENDS.has(c.method));
    const perChat = new Map<string, number[]>();
    for (const c of sends) (perChat.get(c.chatId) ?? perChat.set(c.chatId, []).get(c.chatId)!).push(c.at);
    const okReplies = sends.filter((c) => c.method === 'sendmessage' && c.ok);
    // BENCH_INTAKE_DUMP=<dir>: the raw times of this burst, for a closer look.
    if (process.env.BENCH_INTAKE_DUMP) {
      writeFileSync(
        `${process.env.BENCH_INTAKE_DUMP}/intake-${tag}.json`,
        JSON.stringify({ mode, users: ids.length, firstInjected, stored: rows.map((row) => ({ userId: row.user_id, injected: injectedAt.get(row.user_id), created: row.created })), sends }),
      );
    }
    return {
      mode,
      users: ids.length,
      stored: rows.length,
      rate: rows.length / ((lastStored - firstInjected) / 1000),
      lagP50: percentile(lags, 0.5),
      lagP99: percentile(lags, 0.99),
      maxPerSecond: maxInWindow(sends.map((c) => c.at)),
      maxPerChatPerSecond: Math.max(0, ...[...perChat.values()].map((times) => maxInWindow(times))),
      replied: repliedChats().size,
      extraReplies: okReplies.length - repliedChats().size,
      refusedCalls: sends.filter((c) => !c.ok).length,
      repliesDoneS: okReplies.length ? (Math.max(...okReplies.map((c) => c.at)) - firstInjected) / 1000 : NaN,
      peakRss,
      webhookRetries: webhookFailures,
      gatewayCpuMsPerUpdate: (cpuAfter.gateway - cpuBefore.gateway) / Math.max(1, rows.length),
      machineBusy: machineBusyShare(cpuBefore.machine, cpuAfter.machine),
      machineCpuMsPerUpdate: machineBusyMs(cpuBefore.machine, cpuAfter.machine) / Math.max(1, rows.length),
    };
  }
}

/** Says on stderr, once a minute, which stage a run is still in (a stuck run shows where). */
function watchdog(what: string): { stage(name: string): void; stop(): void } {
  const started = Date.now();
  let current = 'setting up';
  const timer = setInterval(() => process.stderr.write(`${what}: still ${current} after ${((Date.now() - started) / 1000).toFixed(0)} s\n`), 60_000);
  timer.unref();
  return { stage: (name) => (current = name), stop: () => clearInterval(timer) };
}
