// Scenario 4: resident memory of each service while idle (ready, nothing to do).
import { TelegramEmulator } from '@dwld/telegram-emulator';
import { createRedisNamespace, createTestDatabase, freePort } from '@dwld/testkit';
import { benchServiceEnv, mainJs, memoryOf, sleep, spawnService, stopService, waitReady, type ServiceProcess } from './procs';

export const SERVICES = ['registry', 'scheduler', 'bot-gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Starts the three services on a fresh database and prefix, waits for /readyz, idles `idleMs`, samples VmRSS (MiB). */
export async function idleRss(idleMs: number): Promise<Record<ServiceName, number>> {
  const db = await createTestDatabase();
  const ns = await createRedisNamespace('bench-mem');
  const emulator = new TelegramEmulator();
  const { url: apiRoot } = await emulator.start();
  const procs: Array<{ name: ServiceName; proc: ServiceProcess }> = [];
  try {
    const extra: Record<ServiceName, () => Promise<Record<string, string>>> = {
      registry: async () => ({ GRPC_HOST: '127.0.0.1', GRPC_PORT: String(await freePort()) }),
      scheduler: async () => ({ CONSUMER_NAME: 'bench-mem-scheduler' }),
      'bot-gateway': async () => ({ TELEGRAM_API_ROOT: apiRoot, TELEGRAM_BOT_TOKEN: '1234567:bench-token-emulated-only' }),
    };
    for (const name of SERVICES) {
      const port = await freePort();
      const proc = spawnService(mainJs(name), { ...benchServiceEnv({ databaseUrl: db.url, redisUrl: ns.url, prefix: ns.prefix, httpPort: port }), ...(await extra[name]()) });
      procs.push({ name, proc });
      await waitReady(port, proc);
    }
    await sleep(idleMs);
    return Object.fromEntries(procs.map(({ name, proc }) => [name, memoryOf(proc.child.pid!).rss])) as Record<ServiceName, number>;
  } finally {
    await Promise.all(procs.map(({ proc }) => stopService(proc)));
    await emulator.stop();
    await ns.cleanup();
    await db.drop();
  }
}
