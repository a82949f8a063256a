import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { registerDownloader } from '@dwld/contract';
import { createDatabase, type Database } from '@dwld/db';
import { EventPublisher } from '@dwld/events';
import { isHostname, WILDCARD_PATTERNS } from '@dwld/domain';
import { silentLogger } from '@dwld/logger';
import { createRedisNamespace, createTestDatabase, type RedisNamespace, type TestDatabase } from '@dwld/testkit';
import { RegistryApp } from './app';
import { parseRegistryConfig } from './config';
import { MAX_NAME_LENGTH, validateRegistration } from './registration';

// Hostile and sloppy registrations over real gRPC: every call is answered OK, INVALID_ARGUMENT
// or UNAUTHENTICATED; only valid, authenticated ones are stored, and what is stored is always
// usable (a name, a dialable host, a port, at least one well-formed pattern); the server stays up.
// The calls come from 127.0.0.1, which is the host an empty or 0.0.0.0 serverHost stands for.
// The limits on size and rate are raised out of the way: this is about what is stored, and
// every call comes from one address (limits.test.ts tests them).
const MAX_PATTERN_BYTES = 100_000;
const PEER = { peerAddress: '127.0.0.1', maxPatternBytes: MAX_PATTERN_BYTES };

/** What any stored row must be, whatever was sent. */
function expectUsable(row: { name: string; host: string; port: number; allowedPatterns: string[] }): void {
  expect(row.name.length).toBeGreaterThan(0);
  expect(row.name.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
  expect(row.name).toBe(row.name.trim());
  expect(isHostname(row.host) || isIP(row.host) !== 0).toBe(true);
  expect(row.host).not.toBe('0.0.0.0');
  expect(row.port >= 1 && row.port <= 65535).toBe(true);
  expect(row.allowedPatterns.length).toBeGreaterThan(0);
  for (const pattern of row.allowedPatterns) expect(WILDCARD_PATTERNS.has(pattern) || isHostname(pattern) || isIP(pattern) !== 0).toBe(true);
}
describe('registration with random input (property-based, real gRPC)', () => {
  const token = 'fuzz-registration-token-0001';
  let database: TestDatabase;
  let ns: RedisNamespace;
  let db: Database;
  let app: RegistryApp;
  let target: string;

  beforeAll(async () => {
    [database, ns] = await Promise.all([createTestDatabase(), createRedisNamespace('registry-fuzz')]);
    db = createDatabase(database.url, { poolSize: 4 });
    const config = parseRegistryConfig({ DATABASE_URL: database.url, REDIS_URL: ns.url, STREAM_PREFIX: ns.prefix, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', HEALTH_INTERVAL_S: '3600', REGISTRATION_TOKEN: token,
      MAX_PATTERN_BYTES: String(MAX_PATTERN_BYTES), MAX_DOWNLOADERS: '100000', REGISTRATION_BURST_PER_PEER: '100000', REGISTRATIONS_PER_PEER_PER_MINUTE: '100000' });
    app = new RegistryApp({ config, db, redis: ns.redis, publisher: new EventPublisher({ redis: ns.redis, prefix: ns.prefix }), logger: silentLogger() });
    target = `127.0.0.1:${(await app.start()).grpcPort}`;
  });
  afterAll(async () => {
    await app.stop();
    await db.$disconnect();
    await Promise.all([database.drop(), ns.cleanup()]);
  });

  const hostish = fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 300 }), fc.constantFrom('', ' ', 'localhost', '*', 'any', '0.0.0.0', '::', '[::]'));
  // What the deployed downloaders send: their config string split on ",", nothing trimmed.
  const sloppy = fc.constantFrom(' youtube.com', 'rutube.ru ', '', ' ', 'https://www.youtube.com/', '*.vk.com', 'all', 'ALL');
  const request = fc.record({
    serverName: fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.constant('')),
    serverHost: hostish,
    serverPort: fc.oneof(fc.integer({ min: -70_000, max: 70_000 }), fc.constantFrom(0, 1, 65535, 65536, -1, 2 ** 31 - 1, -(2 ** 31))),
    allowedRootLinks: fc.array(fc.oneof(hostish, fc.webUrl(), sloppy), { maxLength: 300 }),
  });

  it('answers every call with OK, INVALID_ARGUMENT or UNAUTHENTICATED and stores exactly the valid authenticated ones', async () => {
    await fc.assert(
      fc.asyncProperty(request, fc.constantFrom<'none' | 'wrong' | 'right'>('none', 'wrong', 'right'), async (req, auth) => {
        const before = await db.downloader.count();
        const options = auth === 'none' ? {} : { token: auth === 'right' ? token : `${token}-x` };
        const outcome = await registerDownloader(target, req, options).then(
          () => 'ok',
          (err: grpc.ServiceError) => grpc.status[err.code],
        );
        const valid = validateRegistration(req, PEER);
        if (auth !== 'right') {
          expect(outcome).toBe('UNAUTHENTICATED');
          expect(await db.downloader.count()).toBe(before);
        } else if (!valid.ok) {
          expect(outcome).toBe('INVALID_ARGUMENT');
          expect(await db.downloader.count()).toBe(before);
        } else {
          expect(outcome).toBe('ok');
          const row = await db.downloader.findUniqueOrThrow({ where: { name: valid.registration.name } });
          expect(row).toMatchObject({ host: valid.registration.host, port: valid.registration.port, allowedPatterns: valid.registration.patterns });
          expectUsable(row);
        }
      }),
      { numRuns: 150 },
    );
    // Still serving.
    await registerDownloader(target, { serverName: 'after-fuzz', serverHost: '127.0.0.1', serverPort: 5000, allowedRootLinks: ['*'] }, { token });
    expect(await db.downloader.findUnique({ where: { name: 'after-fuzz' } })).not.toBeNull();
  });

  it('stores any valid registration exactly as validated, replacing the previous one of that name', async () => {
    const valid = fc.record({
      serverName: fc.string({ minLength: 1, maxLength: 128 }).filter((n) => validateRegistration({ serverName: n, serverHost: 'h', serverPort: 1, allowedRootLinks: ['*'] }).ok),
      serverHost: fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6()),
      serverPort: fc.integer({ min: 1, max: 65535 }),
      allowedRootLinks: fc.array(fc.oneof(fc.domain(), fc.constantFrom('*', 'any', 'all')), { minLength: 1, maxLength: 256 }),
    });
    await fc.assert(
      fc.asyncProperty(valid, async (req) => {
        await registerDownloader(target, req, { token });
        const expected = validateRegistration(req, PEER);
        if (!expected.ok) throw new Error(`generator produced an invalid registration: ${expected.reason}`);
        expect(await db.downloader.findMany({ where: { name: expected.registration.name } })).toEqual([
          expect.objectContaining({ host: expected.registration.host, port: req.serverPort, allowedPatterns: expected.registration.patterns }),
        ]);
      }),
      { numRuns: 60 },
    );
  });
});
