// Test-only: a gateway wired to the Bot API emulator, a fresh database and a Redis prefix.
import { connectDatabase, type Database, type DatabaseAccess } from '@dwld/db';
import { streamKey } from '@dwld/events';
import { silentLogger, type Logger } from '@dwld/logger';
import { TelegramEmulator } from '@dwld/telegram-emulator';
import { createRedisNamespace, createTestDatabase, TestDnsServer, type RedisNamespace, type TestDatabase } from '@dwld/testkit';
import { Redis } from 'ioredis';
import { GatewayApp } from '../app';
import { parseGatewayConfig } from '../config';

// Short enough to be obviously fake; never shaped like a real token.
export const TEST_TOKEN = '1234567:emulated-bot-token-for-tests-only';
export const ADMIN = 100;
export const ALICE = 200;
export const BOB = 201;
export const API_TOKEN = 'api-token-for-tests-0123';

export interface Harness {
  emulator: TelegramEmulator;
  apiRoot: string;
  database: TestDatabase;
  ns: RedisNamespace;
  db: Database;
  app: GatewayApp;
  httpPort: number;
  env: Record<string, string>;
  /** The DNS server the gateways resolve link hosts with (DNS_SERVERS): it knows only the names a test adds. */
  dns: TestDnsServer;
  /** The payloads published to an event's stream, oldest first. */
  events(type: string, prefix?: string): Promise<Array<Record<string, unknown>>>;
  /** Starts another gateway on the same emulator, database and Redis (stopped by stop()). */
  startGateway(env?: Record<string, string>, options?: { database?: DatabaseAccess; logger?: Logger }): Promise<{ app: GatewayApp; httpPort: number }>;
  stop(): Promise<void>;
}

export async function startHarness(overrides: Record<string, string> = {}): Promise<Harness> {
  const emulator = new TelegramEmulator();
  const { url: apiRoot } = await emulator.start();
  const [database, ns, dns] = await Promise.all([createTestDatabase(), createRedisNamespace('gateway'), TestDnsServer.start()]);
  const access = connectDatabase(database.url, { poolSize: 5 });
  const { db } = access;
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: ns.url,
    STREAM_PREFIX: ns.prefix,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    TELEGRAM_BOT_TOKEN: TEST_TOKEN,
    TELEGRAM_API_ROOT: apiRoot,
    ADMIN_IDS: String(ADMIN),
    ALLOWED_IDS: `${ALICE},${BOB}`,
    ALLOWED_PHONES: '+7 900 000-00-01',
    FOLDERS: 'Music,Films',
    DISPATCH_DELAY_S: '60',
    API_TOKEN,
    SERVICE_MESSAGE_TTL_S: '0',
    TELEGRAM_CHAT_INTERVAL_S: '0.01',
    // Link hosts are resolved with the test's own DNS server: no lookup leaves the machine.
    DNS_SERVERS: dns.address,
    ...overrides,
  };
  const cleanups: Array<() => Promise<void> | void> = [];
  const startGateway: Harness['startGateway'] = async (more = {}, options = {}) => {
    const redis = new Redis(ns.url, { maxRetriesPerRequest: 2 });
    const app = new GatewayApp({ config: parseGatewayConfig({ ...env, ...more }), ...(options.database ?? access), redis, logger: options.logger ?? silentLogger(), consumerName: `gw-${cleanups.length}` });
    cleanups.push(async () => {
      await app.stop();
      redis.disconnect();
    });
    const { httpPort } = await app.start();
    return { app, httpPort };
  };
  const { app, httpPort } = await startGateway();
  return {
    emulator,
    apiRoot,
    database,
    ns,
    db,
    app,
    httpPort,
    env,
    dns,
    startGateway,
    async events(type, prefix = ns.prefix) {
      const entries = await ns.redis.xrange(streamKey(prefix, type), '-', '+');
      return entries.map(([, f]) => JSON.parse(f[f.indexOf('data') + 1]!) as Record<string, unknown>);
    },
    async stop() {
      for (const cleanup of cleanups.reverse()) await cleanup();
      await emulator.stop();
      await db.$disconnect();
      await Promise.all([database.drop(), ns.cleanup(), dns.stop()]);
    },
  };
}
