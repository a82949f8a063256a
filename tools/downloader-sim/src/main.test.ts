import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { DownloaderClient } from '@dwld/contract';
import { freePort, spawnService, waitFor } from '@dwld/testkit';
import { startFakeRegistry, type FakeRegistry } from './test-support/fake-registry';

// The service as it ships: the built dist/main.js in its own process (turbo builds before testing).
const MAIN = path.resolve(__dirname, '../dist/main.js');

describe('downloader-sim process (dist/main.js)', () => {
  let registry: FakeRegistry;
  beforeAll(async () => {
    registry = await startFakeRegistry();
  });
  afterAll(() => registry.server.stop(0));

  it.each([
    [{}, 'Invalid configuration: SIM_NAME is required'],
    [{ SIM_NAME: 'sim', MODE: 'explode' }, 'Invalid configuration: MODE is invalid: must be one of ok, fail, refuse, hang'],
    [{ SIM_NAME: 'sim', REGISTRY_ADDRESS: 'nowhere' }, 'Invalid configuration: REGISTRY_ADDRESS is invalid: must be host:port'],
    [{ SIM_NAME: 'sim', REGISTRATION_TOKEN: 'short' }, 'Invalid configuration: REGISTRATION_TOKEN is invalid: must be at least 16 characters'],
  ])('refuses to start with %j, in one line', async (env, line) => {
    const proc = spawnService(MAIN, env);
    expect(await proc.exited).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toEqual([expect.stringContaining(line)]);
    expect(proc.output()).not.toContain('short');
  });

  it('starts, registers its bound port, answers, switches mode over HTTP, keeps the token out of its logs and exits 0 on SIGTERM', async () => {
    const token = 'do-not-log-this-token-42';
    const httpPort = await freePort();
    const proc = spawnService(MAIN, {
      SIM_NAME: 'smoke',
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      REGISTRY_ADDRESS: registry.address,
      REGISTRATION_TOKEN: token,
      PATTERNS: 'youtube.com,vimeo.com',
      LOG_LEVEL: 'debug',
      NODE_ENV: 'production',
    });
    try {
      const registration = await waitFor(() => registry.calls.find((c) => c.request.serverName === 'smoke'), { what: 'the process to register', timeout: 15_000 });
      expect(registration.authorization).toBe(`Bearer ${token}`);
      expect(registration.request).toMatchObject({ allowedRootLinks: ['youtube.com', 'vimeo.com'], serverHost: '127.0.0.1' });
      const port = registration.request.serverPort;
      expect(port).toBeGreaterThan(0);

      const client = new DownloaderClient({ lookup: async () => ({ host: '127.0.0.1', port }), deadlineMs: 5000 });
      expect((await client.healtheck('smoke')).message).toBe('ok smoke');
      const queued = await client.setToQueue('smoke', { link: 'https://youtube.com/watch?v=abc', userName: '[alice] Films', maxQuality: 720 });
      expect(queued.linksInWork).toEqual([expect.objectContaining({ link: 'https://youtube.com/watch?v=abc', status: 'downloading', maxQuantity: '720' })]);
      expect((await client.status('smoke')).linksInWork).toEqual([expect.objectContaining({ moveTo: '/downloads/alice/Films', status: 'downloading' })]);

      const mode = await fetch(`http://127.0.0.1:${httpPort}/mode`, { method: 'POST', body: JSON.stringify({ mode: 'fail', count: 1 }) });
      expect(mode.status).toBe(200);
      await expect(client.setToQueue('smoke', { link: 'https://vimeo.com/1', userName: 'bob' })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      await expect(client.setToQueue('smoke', { link: 'https://vimeo.com/1', userName: 'bob' })).resolves.toBeDefined();
      const received = (await (await fetch(`http://127.0.0.1:${httpPort}/received`)).json()) as { received: Array<{ outcome: string }> };
      expect(received.received.map((r) => r.outcome)).toEqual(['queued', 'failed', 'queued']);
      expect((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status).toBe(200);
    } finally {
      proc.child.kill('SIGTERM');
    }
    expect(await proc.exited).toBe(0);
    const lines = proc.output().trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(lines.map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(
      expect.arrayContaining(['downloader-sim started', 'registered with the registry', 'SetToQueue', 'mode changed', 'stopping', 'stopped']),
    );
    expect(proc.output()).not.toContain(token);
  });

  it('starts and keeps running while the registry is down (quietly at first: it may be starting too), then exits 0 on SIGTERM', async () => {
    const proc = spawnService(MAIN, {
      SIM_NAME: 'lonely',
      GRPC_HOST: '127.0.0.1',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      REGISTRY_ADDRESS: `127.0.0.1:${await freePort()}`,
      LOG_LEVEL: 'debug',
    });
    try {
      await waitFor(() => proc.output().match(/the registry does not answer yet/g)?.length === 2, { what: 'two failed registrations', timeout: 15_000 });
    } finally {
      proc.child.kill('SIGTERM');
    }
    expect(await proc.exited).toBe(0);
    // Within its first 10 s nothing above debug is said about it.
    expect(proc.output()).not.toContain('cannot register with the registry');
  });
});

