import path from 'node:path';
import { createTestDatabase, freePort, spawnService, waitFor, type ServiceProcess, type TestDatabase } from '@dwld/testkit';
import { startOwnRedis, type OwnRedis } from '../support/own-redis';
import { BOT_TOKEN } from '../support/system';

const ROOT = path.resolve(__dirname, '../../..');
const main = (service: string) => path.join(ROOT, 'services', service, 'dist', 'main.js');
const REFUSAL = 'refusing to run: Redis maxmemory-policy is allkeys-lru';

// A probe, not an outage: a Redis that may evict keys would silently drop stream entries and
// BullMQ jobs once full (accepted links and owed replies with them), so every service refuses
// to start against one, with one line and exit code 78, unless REDIS_ALLOW_EVICTION is set.
describe('probe: every service refuses a Redis whose maxmemory-policy evicts', () => {
  let redis: OwnRedis;
  let database: TestDatabase;
  const started: ServiceProcess[] = [];

  beforeAll(async () => {
    [redis, database] = await Promise.all([startOwnRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] }), createTestDatabase()]);
  });
  afterAll(async () => {
    for (const proc of started) if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    await Promise.all([redis?.stop(), database?.drop()]);
  });

  const env = async (extra: Record<string, string> = {}) => ({
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    STREAM_PREFIX: 'evicting-probe',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    NODE_ENV: 'production',
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: String(await freePort()),
    // The gateway's required settings; it refuses before it would call Telegram.
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_ROOT: 'http://127.0.0.1:9',
    ...extra,
  });
  const spawn = (service: string, environment: Record<string, string>) => {
    const proc = spawnService(main(service), environment);
    started.push(proc);
    return proc;
  };
  const lines = (proc: ServiceProcess) => proc.output().trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: string; message: string; maxmemoryPolicy?: string });

  it.each(['registry', 'scheduler', 'bot-gateway'])('%s exits 78 with one line naming the policy', async (service) => {
    const proc = spawn(service, await env());
    expect(await proc.exited).toBe(78);
    const errors = lines(proc).filter((l) => l.level === 'error');
    expect(errors).toEqual([expect.objectContaining({ message: expect.stringContaining(REFUSAL), maxmemoryPolicy: 'allkeys-lru' })]);
    expect(errors[0]!.message).toContain('REDIS_ALLOW_EVICTION=true');
    // Nothing was started: no consumer group was created on the evicting Redis.
    expect(lines(proc).map((l) => l.message)).not.toContain('Created consumer group');
  });

  it.each(['registry', 'scheduler'])('%s runs with REDIS_ALLOW_EVICTION=true, saying so once', async (service) => {
    const proc = spawn(service, await env({ REDIS_ALLOW_EVICTION: 'true' }));
    await waitFor(() => lines(proc).some((l) => l.message === `${service} started`), { what: `${service} to start`, timeout: 20_000 });
    expect(lines(proc).filter((l) => l.level === 'warn' && l.message.includes('REDIS_ALLOW_EVICTION'))).toHaveLength(1);
    expect(lines(proc).filter((l) => l.level === 'error')).toEqual([]);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });
});
