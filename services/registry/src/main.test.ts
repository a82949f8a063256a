import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { registerDownloader } from '@dwld/contract';
import { createRedisNamespace, createTestDatabase, freePort, spawnService, waitFor, type RedisNamespace, type TestDatabase } from '@dwld/testkit';

// The service as it ships: the built dist/main.js in its own process (turbo builds before testing).
const MAIN = path.resolve(__dirname, '../dist/main.js');

describe('registry process (dist/main.js)', () => {
  let database: TestDatabase;
  let redisNs: RedisNamespace;
  beforeAll(async () => {
    [database, redisNs] = await Promise.all([createTestDatabase(), createRedisNamespace('registry-main')]);
  });
  afterAll(() => Promise.all([database.drop(), redisNs.cleanup()]));

  it.each([
    [{ DATABASE_URL: '' }, 'Invalid configuration: DATABASE_URL is required'],
    [{ GRPC_PORT: 'ninety' }, 'Invalid configuration: GRPC_PORT is invalid: must be a whole number'],
    [{ REGISTRATION_TOKEN: 'short' }, 'Invalid configuration: REGISTRATION_TOKEN is invalid: must be at least 16 characters'],
    [{ HEALTH_INTERVAL_S: '-1' }, 'Invalid configuration: HEALTH_INTERVAL_S is invalid'],
  ])('refuses to start with %j, in one line', async (bad, line) => {
    const proc = spawnService(MAIN, { DATABASE_URL: database.url, ...bad });
    expect(await proc.exited).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(line);
    expect(proc.output()).not.toContain('short');
  });

  it('serves registrations, keeps the token out of its logs, and stops cleanly on SIGTERM', async () => {
    const token = 'do-not-log-this-token-42';
    const [grpcPort, httpPort] = await Promise.all([freePort(), freePort()]);
    const proc = spawnService(MAIN, {
      DATABASE_URL: database.url,
      REDIS_URL: redisNs.url,
      STREAM_PREFIX: redisNs.prefix,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: String(grpcPort),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      REGISTRATION_TOKEN: token,
      LOG_LEVEL: 'debug',
      NODE_ENV: 'production',
    });
    try {
      await waitFor(() => proc.output().includes('registry started'), { what: 'the registry to start', timeout: 20_000 });
      const target = `127.0.0.1:${grpcPort}`;
      const request = { serverName: 'nas', allowedRootLinks: ['*'], serverHost: '127.0.0.1', serverPort: 7000 };
      await expect(registerDownloader(target, request, { token: `${token}-wrong` })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
      await registerDownloader(target, request, { token });
      const ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
      expect(ready.status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      expect(metrics).toMatch(/dwld_registrations_total\{outcome="registered",service="registry"\} 1/);
      expect(metrics).toMatch(/dwld_registrations_total\{outcome="unauthenticated",service="registry"\} 1/);
    } finally {
      proc.child.kill('SIGTERM');
    }
    expect(await proc.exited).toBe(0);
    const lines = proc.output().trim().split('\n');
    // JSON in production, one object per line.
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(lines.map((l) => JSON.parse(l).message)).toEqual(expect.arrayContaining(['registry started', 'downloader registered', 'stopping', 'stopped']));
    expect(proc.output()).not.toContain(token);
  });
});
