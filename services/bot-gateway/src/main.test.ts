import path from 'node:path';
import { TelegramEmulator } from '@dwld/telegram-emulator';
import { createRedisNamespace, createTestDatabase, freePort, spawnService, TestDnsServer, waitFor, type RedisNamespace, type TestDatabase } from '@dwld/testkit';

// The gateway as it ships: dist/main.js in its own process (turbo builds before testing).
const MAIN = path.resolve(__dirname, '../dist/main.js');
const TOKEN = '7777777:process-test-token-never-to-be-logged';
const API_TOKEN = 'process-api-token-never-logged';

describe('gateway process (dist/main.js)', () => {
  let emulator: TelegramEmulator;
  let apiRoot: string;
  let database: TestDatabase;
  let ns: RedisNamespace;
  let dns: TestDnsServer;
  beforeAll(async () => {
    emulator = new TelegramEmulator();
    ({ url: apiRoot } = await emulator.start());
    [database, ns, dns] = await Promise.all([createTestDatabase(), createRedisNamespace('gateway-main'), TestDnsServer.start()]);
  });
  afterAll(async () => {
    await emulator.stop();
    await Promise.all([database.drop(), ns.cleanup(), dns.stop()]);
  });

  it.each([
    [{ TELEGRAM_BOT_TOKEN: '' }, 'Invalid configuration: TELEGRAM_BOT_TOKEN is required'],
    [{ TELEGRAM_BOT_TOKEN: 'not-a-token' }, 'Invalid configuration: TELEGRAM_BOT_TOKEN is invalid'],
    [{ ADMIN_IDS: '12,abc' }, 'Invalid configuration: ADMIN_IDS is invalid'],
    [{ DEFAULT_QUALITY: '999' }, 'Invalid configuration: DEFAULT_QUALITY is invalid: must be one of QUALITY_OPTIONS'],
    [{ WEBHOOK_URL: 'https://bot.example.com/hook' }, 'Invalid configuration: WEBHOOK_SECRET is invalid: is required with WEBHOOK_URL'],
    [{ DISPATCH_DELAY_S: 'soon' }, 'Invalid configuration: DISPATCH_DELAY_S is invalid'],
  ])('refuses to start with %j, in one line that shows no secret', async (bad, line) => {
    const proc = spawnService(MAIN, { DATABASE_URL: database.url, TELEGRAM_BOT_TOKEN: TOKEN, ...bad });
    expect(await proc.exited).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(line);
    expect(proc.output()).not.toContain(TOKEN);
  });

  it('never logs the bot token or API token, even when Telegram fails, and stops cleanly on SIGTERM', async () => {
    const httpPort = await freePort();
    const proc = spawnService(MAIN, {
      NODE_ENV: 'production',
      LOG_LEVEL: 'debug',
      DATABASE_URL: database.url,
      REDIS_URL: ns.url,
      STREAM_PREFIX: ns.prefix,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: apiRoot,
      ADMIN_IDS: '100',
      API_TOKEN,
      // Link hosts are looked up here, not on the network.
      DNS_SERVERS: dns.address,
    });
    try {
      await waitFor(() => proc.output().includes('gateway started'), { what: 'the gateway to start', timeout: 20_000 });
      const admin = emulator.user({ id: 100 });
      // Every Telegram answer fails for a while: the errors carry request details.
      emulator.failNext('*', { errorCode: 500, description: 'Internal Server Error' }, 3);
      await admin.sendText('https://youtube.com/watch?v=through-errors');
      await admin.nextBotMessage((m) => (m.text ?? '').includes('through-errors'), 20_000);
      expect((await fetch(`http://127.0.0.1:${httpPort}/links`, { method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}x` }, body: '{}' })).status).toBe(401);
      const ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok', telegram: 'ok' } });
      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      expect(metrics).toMatch(/dwld_links_intake_total\{status="queued",service="bot-gateway"\} 1/);
      expect(metrics).toMatch(/dwld_telegram_errors_total\{code="500",service="bot-gateway"\}/);
    } finally {
      proc.child.kill('SIGTERM');
    }
    expect(await proc.exited).toBe(0);
    const out = proc.output();
    for (const line of out.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    expect(out).toContain('gateway stopped');
    expect(out).not.toContain(TOKEN);
    expect(out).not.toContain(TOKEN.split(':')[1]);
    expect(out).not.toContain(API_TOKEN);
  });
});
