// The whole system for a test: the built services as separate processes, the Telegram
// emulator, simulated downloaders, a fresh database and a Redis prefix. Tests drive it only
// from the outside: Telegram updates and HTTP in; Bot API calls, gRPC calls and HTTP out.
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createDatabase, type Database } from '@dwld/db';
import { Redis } from 'ioredis';
import { TelegramEmulator } from '@dwld/telegram-emulator';
import { createRedisNamespace, createTestDatabase, CuttableProxy, freePort, spawnService, TestDnsServer, waitFor, type RedisNamespace, type ServiceProcess, type TestDatabase } from '@dwld/testkit';

const ROOT = path.resolve(__dirname, '../../..');
const main = (service: string) => path.join(ROOT, 'services', service, 'dist', 'main.js');

export const BOT_TOKEN = '5550001:e2e-bot-token-for-the-emulator-only';
export const API_TOKEN = 'e2e-api-token-0123456789';
export const ADMIN = 100;
export const ALICE = 200;
export const BOB = 201;

export interface Received {
  at: string;
  link: string;
  userName: string;
  maxQuality?: number;
  outcome: string;
  /** Set by the sim's modes cut and late: the call's answer was cut off or held back (the outcome still happened). */
  reply?: 'cut' | 'late';
}

export interface Sim {
  name: string;
  httpPort: number;
  grpcPort: number;
  process: ServiceProcess;
  received(): Promise<Received[]>;
  setMode(mode: 'ok' | 'fail' | 'refuse' | 'hang' | 'cut' | 'late', count?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface System {
  emulator: TelegramEmulator;
  db: Database;
  gatewayHttp: number;
  /** Every gateway replica's HTTP port (the first is gatewayHttp). */
  gatewayPorts: number[];
  registryGrpc: number;
  /** The registry's ops port (/healthz, /readyz, /metrics). */
  registryHttp: number;
  /** The schedulers' ops ports (metrics), in start order. */
  schedulerHttp: number[];
  /** SIGKILLs a service process (as a crash would) and starts it again with the same settings. */
  crashAndRestart(name: string): Promise<ServiceProcess>;
  /**
   * With `cuttableDatabase`: cut the services off PostgreSQL (connections dropped) and restore
   * them; or hold (a silent partition: connections stay open, nothing goes through) and release.
   */
  database?: { cut(): Promise<void>; restore(): Promise<void>; hold(): void; release(): void };
  processes: Map<string, ServiceProcess>;
  /** The DNS server the gateways resolve link hosts with (DNS_SERVERS): it knows only the names a test adds. */
  dns: TestDnsServer;
  /** The STREAM_PREFIX every service was started with (stream keys are `<prefix>:<event type>`). */
  streamPrefix: string;
  /** A Redis connection of the test's own, on the Redis the services use. */
  redis: Redis;
  /** `env`: more of the sim's settings (FLAVOUR, LATE_REPLY_S…). */
  startSim(name: string, patterns: string, options?: { grpcPort?: number; mode?: string; env?: Record<string, string> }): Promise<Sim>;
  stop(): Promise<void>;
}

export interface SystemOptions {
  schedulers?: number;
  /** Gateway replicas; more than one means webhook mode behind one URL (a round-robin proxy). */
  gateways?: number;
  /** A Redis of the test's own (fault tests restart it); default: the machine's, under a fresh prefix. */
  redisUrl?: string;
  /** Services reach PostgreSQL through a proxy the test can cut (system.database). */
  cuttableDatabase?: boolean;
  env?: Record<string, string>;
  /** More environment for the registry alone (e.g. REGISTRATION_TOKEN). */
  registryEnv?: Record<string, string>;
  /**
   * Runs once the emulator, the database and Redis are ready and before any service starts (what
   * an operator does before starting dwld: the Go bot's last words, importing its database).
   */
  beforeServices?: (world: { emulator: TelegramEmulator; apiRoot: string; databaseUrl: string; redisUrl: string; streamPrefix: string }) => Promise<void>;
}

/** One URL in front of several gateways, taking turns: what a load balancer does. */
async function startRoundRobinProxy(targets: number[]): Promise<{ port: number; close(): Promise<void> }> {
  let next = 0;
  const server = createServer((req, res) => {
    const port = targets[next++ % targets.length]!;
    const upstream = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function stopProcess(proc: ServiceProcess): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  await proc.exited;
}

/** The value of a counter or gauge on a service's /metrics, summed over its label sets. */
export async function metric(port: number, name: string): Promise<number> {
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return body
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const emulator = new TelegramEmulator({ people: [
    { id: ADMIN, firstName: 'Admin', username: 'admin', label: 'Admin' },
    { id: ALICE, firstName: 'Alice', username: 'alice', label: 'User' },
    { id: BOB, firstName: 'Bob', username: 'bob', label: 'User' },
  ] });
  const { url: apiRoot } = await emulator.start();
  emulator.addBot(BOT_TOKEN);
  const [database, ns, dns]: [TestDatabase, RedisNamespace, TestDnsServer] = await Promise.all([createTestDatabase(), createRedisNamespace('e2e'), TestDnsServer.start()]);
  const db = createDatabase(database.url, { poolSize: 3 });
  const [registryGrpc, registryHttp, gatewayHttp] = await Promise.all([freePort(), freePort(), freePort()]);
  const processes = new Map<string, ServiceProcess>();
  const specs = new Map<string, { main: string; env: Record<string, string> }>();
  const launch = (name: string, mainJs: string, env: Record<string, string>) => {
    specs.set(name, { main: mainJs, env });
    const proc = spawnService(mainJs, env);
    processes.set(name, proc);
    return proc;
  };
  const sims: Sim[] = [];
  const dbProxy = options.cuttableDatabase ? await CuttableProxy.start({ host: '127.0.0.1', port: Number(new URL(database.url).port || 5432) }) : undefined;
  const common = { DATABASE_URL: dbProxy ? dbProxy.urlFor(database.url) : database.url, REDIS_URL: options.redisUrl ?? ns.url, STREAM_PREFIX: ns.prefix, LOG_LEVEL: 'info', HTTP_HOST: '127.0.0.1' };
  await options.beforeServices?.({ emulator, apiRoot, databaseUrl: database.url, redisUrl: common.REDIS_URL, streamPrefix: ns.prefix });

  launch('registry', main('registry'), { ...common, HTTP_PORT: String(registryHttp), GRPC_HOST: '127.0.0.1', GRPC_PORT: String(registryGrpc), HEALTH_INTERVAL_S: '1', UNHEALTHY_AFTER_S: '3', ...options.registryEnv });
  const schedulerHttp: number[] = [];
  for (let i = 0; i < (options.schedulers ?? 1); i++) {
    schedulerHttp.push(await freePort());
    launch(`scheduler-${i}`, main('scheduler'), { ...common, HTTP_PORT: String(schedulerHttp[i]), CONSUMER_NAME: `scheduler-${i}`, DISPATCH_CONCURRENCY: '8', RETRY_BASE_S: '1', RETRY_CAP_S: '2', DOWNLOADER_DEADLINE_S: '2', CLAIM_LEASE_S: '10', ...options.env });
  }
  const gatewayCount = options.gateways ?? 1;
  const gatewayPorts = [gatewayHttp];
  for (let i = 1; i < gatewayCount; i++) gatewayPorts.push(await freePort());
  const webhookProxy = gatewayCount > 1 ? await startRoundRobinProxy(gatewayPorts) : undefined;
  gatewayPorts.forEach((port, i) => {
    launch(
      i === 0 ? 'bot-gateway' : `bot-gateway-${i}`,
      main('bot-gateway'),
      {
        ...common,
        HTTP_PORT: String(port),
        CONSUMER_NAME: `gateway-${i}`,
        TELEGRAM_BOT_TOKEN: BOT_TOKEN,
        TELEGRAM_API_ROOT: apiRoot,
        ADMIN_IDS: String(ADMIN),
        ALLOWED_IDS: `${ALICE},${BOB}`,
        FOLDERS: 'Music,Films',
        DISPATCH_DELAY_S: '4',
        SERVICE_MESSAGE_TTL_S: '0',
        TELEGRAM_CHAT_INTERVAL_S: '0.05',
        API_TOKEN,
        LINKS_PER_MINUTE: '100000',
        // Link hosts are resolved with the test's own DNS server: no lookup leaves the machine.
        DNS_SERVERS: dns.address,
        ...(webhookProxy ? { WEBHOOK_URL: `http://127.0.0.1:${webhookProxy.port}/telegram/hook`, WEBHOOK_SECRET: 'e2e-webhook-secret-0123456789' } : {}),
        ...options.env,
      },
    );
  });

  const system: System = {
    emulator,
    db,
    gatewayHttp,
    gatewayPorts,
    registryGrpc,
    registryHttp,
    schedulerHttp,
    processes,
    dns,
    streamPrefix: ns.prefix,
    redis: options.redisUrl ? new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 }) : ns.redis,
    async crashAndRestart(name) {
      const proc = processes.get(name);
      const spec = specs.get(name);
      if (!proc || !spec) throw new Error(`no process ${name}`);
      proc.child.kill('SIGKILL');
      await proc.exited;
      return launch(name, spec.main, spec.env);
    },
    ...(dbProxy ? { database: { cut: () => dbProxy.down(), restore: () => dbProxy.up(), hold: () => dbProxy.hold(), release: () => dbProxy.release() } } : {}),
    async startSim(name, patterns, simOptions = {}) {
      const [httpPort, grpcPort] = [await freePort(), simOptions.grpcPort ?? (await freePort())];
      const proc = spawnService(path.join(ROOT, 'tools', 'downloader-sim', 'dist', 'main.js'), {
        SIM_NAME: name, PATTERNS: patterns, REGISTRY_ADDRESS: `127.0.0.1:${registryGrpc}`, GRPC_HOST: '127.0.0.1', GRPC_PORT: String(grpcPort),
        HTTP_HOST: '127.0.0.1', HTTP_PORT: String(httpPort), REGISTER_INTERVAL_S: '2', DOWNLOAD_SECONDS: '1', MODE: simOptions.mode ?? 'ok',
        ...simOptions.env,
      });
      const control = `http://127.0.0.1:${httpPort}`;
      const sim: Sim = {
        name, httpPort, grpcPort, process: proc,
        received: async () => ((await (await fetch(`${control}/received`)).json()) as { received: Received[] }).received,
        setMode: async (mode, count) => {
          const res = await fetch(`${control}/mode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode, ...(count ? { count } : {}) }) });
          if (!res.ok) throw new Error(`cannot set mode: ${res.status}`);
        },
        stop: () => stopProcess(proc),
      };
      sims.push(sim);
      await waitFor(async () => (await db.downloader.findUnique({ where: { name } }))?.port === grpcPort, { what: `${name} to register on port ${grpcPort}`, timeout: 20_000 });
      return sim;
    },
    async stop() {
      await Promise.all([...sims.map((s) => s.stop()), ...[...processes.values()].map(stopProcess)]);
      await webhookProxy?.close();
      await dbProxy?.down();
      await emulator.stop();
      await db.$disconnect();
      if (system.redis !== ns.redis) system.redis.disconnect();
      await Promise.all([database.drop(), ns.cleanup(), dns.stop()]);
    },
  };
  try {
    for (const port of gatewayPorts) {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, { what: 'the gateways to be ready', timeout: 30_000 });
    }
    await waitFor(async () => (await fetch(`http://127.0.0.1:${registryHttp}/readyz`).catch(() => null))?.status === 200, { what: 'the registry to be ready', timeout: 30_000 });
  } catch (err) {
    const logs = [...processes.entries()].map(([n, p]) => `--- ${n}\n${p.output().slice(-2000)}`).join('\n');
    await system.stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
  return system;
}
