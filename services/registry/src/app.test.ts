import path from 'node:path';
import { PassThrough } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { serveDownloader, type DownloaderHandlers, type RunningServer } from '@dwld/contract';
import { createDatabase, type Database } from '@dwld/db';
import { EventPublisher, streamKey, downloaderChanged } from '@dwld/events';
import { startGoDownloader, registerOnce, type RunningGoDownloader } from '@dwld/go-downloader';
import { createLogger, silentLogger, type Logger } from '@dwld/logger';
import { createRedisNamespace, createTestDatabase, freePort, waitFor, type RedisNamespace, type TestDatabase } from '@dwld/testkit';
import { RegistryApp } from './app';
import { parseRegistryConfig } from './config';

// A client built only from the message definitions of the issue, not from proto/: it proves
// the registry speaks the deployed wire format.
const CLIENT_PROTO = `
syntax = "proto3";
package grpc.v1;
import "google/protobuf/empty.proto";
service Bot { rpc RegisterDownloader (RegisterDownloaderRequest) returns (google.protobuf.Empty); }
message RegisterDownloaderRequest { string serverName = 1; repeated string allowedRootLinks = 2; string serverHost = 3; int32 serverPort = 4; }
`;

function loadClientProto(): grpc.GrpcObject {
  const fs = require('node:fs') as typeof import('node:fs');
  const os = require('node:os') as typeof import('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dwld-proto-'));
  fs.writeFileSync(path.join(dir, 'client.proto'), CLIENT_PROTO);
  return grpc.loadPackageDefinition(protoLoader.loadSync('client.proto', { includeDirs: [dir] }));
}
const BotClient = ((loadClientProto().grpc as grpc.GrpcObject).v1 as grpc.GrpcObject).Bot as grpc.ServiceClientConstructor;

interface Registration {
  serverName?: string;
  allowedRootLinks?: string[];
  serverHost?: string;
  serverPort?: number;
}

function register(port: number, request: Registration, token?: string): Promise<grpc.ServiceError | null> {
  const client = new BotClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return new Promise<grpc.ServiceError | null>((resolve) => {
    client.RegisterDownloader!(request, metadata, { deadline: Date.now() + 5000 }, (err: grpc.ServiceError | null) => resolve(err));
  }).finally(() => client.close());
}

describe('registry (real gRPC, PostgreSQL and Redis)', () => {
  let database: TestDatabase;
  let redisNs: RedisNamespace;
  let db: Database;
  const apps: RegistryApp[] = [];

  beforeAll(async () => {
    [database, redisNs] = await Promise.all([createTestDatabase(), createRedisNamespace('registry')]);
    db = createDatabase(database.url, { poolSize: 4 });
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await db.$disconnect();
    await Promise.all([database.drop(), redisNs.cleanup()]);
  });
  beforeEach(async () => {
    await db.downloader.deleteMany();
    await redisNs.redis.del(streamKey(redisNs.prefix, downloaderChanged));
  });

  async function startRegistry(env: Record<string, string> = {}, dbOverride?: Database, logger: Logger = silentLogger()) {
    const config = parseRegistryConfig({
      DATABASE_URL: database.url,
      REDIS_URL: redisNs.url,
      STREAM_PREFIX: redisNs.prefix,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      HEALTH_INTERVAL_S: '3600', // rounds are run by the tests themselves
      ...env,
    });
    const publisher = new EventPublisher({ redis: redisNs.redis, prefix: redisNs.prefix });
    const app = new RegistryApp({ config, db: dbOverride ?? db, redis: redisNs.redis, publisher, logger });
    apps.push(app);
    return { app, ...(await app.start()) };
  }

  async function changes() {
    const entries = await redisNs.redis.xrange(streamKey(redisNs.prefix, downloaderChanged), '-', '+');
    return entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('data') + 1]!) as Record<string, unknown>);
  }

  it('registers a downloader and re-registers it at a new address in the same row', async () => {
    const { grpcPort } = await startRegistry();
    expect(await register(grpcPort, { serverName: 'nas', serverHost: '10.0.0.5', serverPort: 50051, allowedRootLinks: ['youtube.com', 'vk.com'] })).toBeNull();
    const first = await db.downloader.findUniqueOrThrow({ where: { name: 'nas' } });
    expect(first).toMatchObject({ host: '10.0.0.5', port: 50051, allowedPatterns: ['youtube.com', 'vk.com'], healthy: true });

    expect(await register(grpcPort, { serverName: 'nas', serverHost: 'nas.lan', serverPort: 50052, allowedRootLinks: ['*'] })).toBeNull();
    const rows = await db.downloader.findMany();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: first.id, host: 'nas.lan', port: 50052, allowedPatterns: ['*'] });
    expect(rows[0]!.registeredAt.getTime()).toBeGreaterThanOrEqual(first.registeredAt.getTime());

    expect(await changes()).toEqual([
      { name: 'nas', host: '10.0.0.5', port: 50051, patterns: ['youtube.com', 'vk.com'], healthy: true, change: 'registered' },
      { name: 'nas', host: 'nas.lan', port: 50052, patterns: ['*'], healthy: true, change: 'registered' },
    ]);
  });

  it('announces and logs at info only a registration that changes something; one as it stands is a debug line and a sign of life', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const logger = createLogger({ service: 'registry', level: 'debug', json: true, stream });
    const registrations = () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { level: string; message: string })
        .filter((line) => line.message.startsWith('downloader registered'))
        .map((line) => `${line.level} ${line.message}`);
    const { grpcPort } = await startRegistry({}, undefined, logger);
    const nas = { serverName: 'nas', serverHost: '10.0.0.5', serverPort: 50051, allowedRootLinks: ['youtube.com'] };

    expect(await register(grpcPort, nas)).toBeNull();
    const longAgo = new Date('2020-01-01T00:00:00Z');
    await db.downloader.update({ where: { name: 'nas' }, data: { lastSeenAt: longAgo, registeredAt: longAgo } });
    // Again as it stands (what every downloader does every REGISTER_INTERVAL_S).
    expect(await register(grpcPort, nas)).toBeNull();
    expect(await register(grpcPort, nas)).toBeNull();
    const again = await db.downloader.findUniqueOrThrow({ where: { name: 'nas' } });
    expect(again.lastSeenAt.getTime()).toBeGreaterThan(longAgo.getTime());
    expect(again.registeredAt.getTime()).toBeGreaterThan(longAgo.getTime());
    expect(registrations()).toEqual(['info downloader registered', 'debug downloader registered again, unchanged', 'debug downloader registered again, unchanged']);
    expect(await changes()).toHaveLength(1);

    // Each of these changes something: other patterns, another port, back to healthy.
    expect(await register(grpcPort, { ...nas, allowedRootLinks: ['youtube.com', 'vimeo.com'] })).toBeNull();
    expect(await register(grpcPort, { ...nas, allowedRootLinks: ['youtube.com', 'vimeo.com'], serverPort: 50052 })).toBeNull();
    await db.downloader.update({ where: { name: 'nas' }, data: { healthy: false } });
    expect(await register(grpcPort, { ...nas, allowedRootLinks: ['youtube.com', 'vimeo.com'], serverPort: 50052 })).toBeNull();
    expect(registrations().slice(3)).toEqual(['info downloader registered', 'info downloader registered', 'info downloader registered']);
    expect(await changes()).toEqual([
      { name: 'nas', host: '10.0.0.5', port: 50051, patterns: ['youtube.com'], healthy: true, change: 'registered' },
      { name: 'nas', host: '10.0.0.5', port: 50051, patterns: ['youtube.com', 'vimeo.com'], healthy: true, change: 'registered' },
      { name: 'nas', host: '10.0.0.5', port: 50052, patterns: ['youtube.com', 'vimeo.com'], healthy: true, change: 'registered' },
      { name: 'nas', host: '10.0.0.5', port: 50052, patterns: ['youtube.com', 'vimeo.com'], healthy: true, change: 'registered' },
    ]);
    expect(await db.downloader.findUniqueOrThrow({ where: { name: 'nas' } })).toMatchObject({ healthy: true, port: 50052 });
  });

  it.each([
    [{ serverName: '', serverHost: 'h', serverPort: 1, allowedRootLinks: ['*'] }, 'serverName'],
    [{ serverName: 'x', serverHost: 'nas local', serverPort: 1, allowedRootLinks: ['*'] }, 'serverHost'],
    [{ serverName: 'x', serverHost: 'h', serverPort: 0, allowedRootLinks: ['*'] }, 'serverPort'],
    [{ serverName: 'x', serverHost: 'h', serverPort: 65536, allowedRootLinks: ['*'] }, 'serverPort'],
    [{ serverName: 'x', serverHost: 'h', serverPort: 80, allowedRootLinks: [] }, 'allowedRootLinks'],
    [{ serverName: 'x', serverHost: 'h', serverPort: 80, allowedRootLinks: ['not a host'] }, 'allowedRootLinks'],
    [{ serverName: 'x', serverHost: 'h', serverPort: 80, allowedRootLinks: ['', ' '] }, 'allowedRootLinks'],
    [{}, 'serverName'],
  ])('answers INVALID_ARGUMENT for %j and stores nothing', async (request, field) => {
    const { grpcPort } = await startRegistry();
    const err = await register(grpcPort, request);
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toContain(field);
    expect(await db.downloader.count()).toBe(0);
    expect(await changes()).toEqual([]);
  });

  it('asks for the token when one is set: UNAUTHENTICATED and nothing stored without it', async () => {
    const token = 'registration-token-0123456789';
    const { grpcPort } = await startRegistry({ REGISTRATION_TOKEN: token });
    const good = { serverName: 'nas', serverHost: 'nas', serverPort: 1000, allowedRootLinks: ['*'] };
    expect((await register(grpcPort, good))?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await register(grpcPort, good, 'wrong-token-0123456789'))?.code).toBe(grpc.status.UNAUTHENTICATED);
    const refused = await register(grpcPort, { serverName: '' }, 'wrong');
    expect(refused?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(refused?.details).not.toContain(token);
    expect(await db.downloader.count()).toBe(0);
    expect(await register(grpcPort, good, token)).toBeNull();
    expect(await db.downloader.count()).toBe(1);
  });

  it('answers UNAVAILABLE when its database is down, and keeps serving', async () => {
    const deadDb = createDatabase(`postgresql://postgres@127.0.0.1:${await freePort()}/none`, { connectionTimeoutMs: 500 });
    const { grpcPort } = await startRegistry({}, deadDb);
    const err = await register(grpcPort, { serverName: 'nas', serverHost: 'nas', serverPort: 1000, allowedRootLinks: ['*'] });
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(err?.details).toContain('database');
    // Still serving: a bad request gets its own answer.
    expect((await register(grpcPort, {}))?.code).toBe(grpc.status.INVALID_ARGUMENT);
    await deadDb.$disconnect();
  });

  it('serves grpc.health.v1 and server reflection', async () => {
    const { grpcPort } = await startRegistry();
    const healthProto = grpc.loadPackageDefinition(protoLoader.loadSync(require.resolve('grpc-health-check/proto/health/v1/health.proto'), { keepCase: true, enums: String }));
    const Health = (((healthProto.grpc as grpc.GrpcObject).health as grpc.GrpcObject).v1 as grpc.GrpcObject).Health as grpc.ServiceClientConstructor;
    const health = new Health(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    const status = await new Promise<{ status: string }>((resolve, reject) => health.Check!({ service: 'grpc.v1.Bot' }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res))));
    expect(status.status).toBe('SERVING');
    health.close();

    const reflectionProto = grpc.loadPackageDefinition(
      protoLoader.loadSync(path.join(path.dirname(require.resolve('@grpc/reflection')), '../proto/grpc/reflection/v1/reflection.proto'), { keepCase: true }),
    );
    const Reflection = ((((reflectionProto.grpc as grpc.GrpcObject).reflection as grpc.GrpcObject).v1 as grpc.GrpcObject).ServerReflection) as grpc.ServiceClientConstructor;
    const reflection = new Reflection(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    const stream = reflection.ServerReflectionInfo!() as grpc.ClientDuplexStream<unknown, { list_services_response?: { service: Array<{ name: string }> } }>;
    const services = await new Promise<string[]>((resolve, reject) => {
      stream.on('data', (res) => resolve((res.list_services_response?.service ?? []).map((s: { name: string }) => s.name)));
      stream.on('error', reject);
      stream.write({ list_services: '' });
    });
    stream.cancel();
    reflection.close();
    expect(services.sort()).toEqual(['grpc.health.v1.Health', 'grpc.v1.Bot']);
  });

  /** A JSON logger whose lines the test reads back. */
  function capturedLogger() {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const logger = createLogger({ service: 'registry', level: 'debug', json: true, stream });
    const lines = () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { level: string; message: string; [key: string]: unknown });
    return { logger, lines };
  }

  describe('registrations as the deployed Go downloaders send them', () => {
    const gos: RunningGoDownloader[] = [];
    afterAll(() => Promise.all(gos.map((go) => go.stop())));

    it('accepts a sloppy pattern list, stores the usable patterns, and warns once per change', async () => {
      const { logger, lines } = capturedLogger();
      const { grpcPort } = await startRegistry({}, undefined, logger);
      const sloppy = { serverName: 'Unona', serverHost: '10.0.0.5', serverPort: 8888, allowedRootLinks: ['youtube.com', ' rutube.ru', ''] };
      expect(await register(grpcPort, sloppy)).toBeNull();
      expect(await db.downloader.findUniqueOrThrow({ where: { name: 'Unona' } })).toMatchObject({ allowedPatterns: ['youtube.com', 'rutube.ru'], host: '10.0.0.5' });
      // The same list again (as our own simulated downloaders do every 30 s): no second warning.
      expect(await register(grpcPort, sloppy)).toBeNull();
      // (Besides the one at start: no REGISTRATION_TOKEN here.)
      const warnings = () => lines().filter((l) => l.level === 'warn' && !l.message.startsWith('REGISTRATION_TOKEN is not set'));
      expect(warnings()).toEqual([expect.objectContaining({ message: 'downloader registered with patterns dropped or rewritten', downloader: 'Unona', patterns: ['youtube.com', 'rutube.ru'], notes: '"" dropped (empty)' })]);
      expect(await changes()).toHaveLength(1);
    });

    it('takes a URL-shaped pattern as its host', async () => {
      const { grpcPort } = await startRegistry();
      expect(await register(grpcPort, { serverName: 'yt', serverHost: '10.0.0.6', serverPort: 8888, allowedRootLinks: ['https://www.youtube.com/'] })).toBeNull();
      expect(await db.downloader.findUniqueOrThrow({ where: { name: 'yt' } })).toMatchObject({ allowedPatterns: ['www.youtube.com'] });
    });

    it.each(['', '0.0.0.0', '::'])('stores the address the call came from for the host %j, and says so', async (host) => {
      const { logger, lines } = capturedLogger();
      const { grpcPort } = await startRegistry({}, undefined, logger);
      expect(await register(grpcPort, { serverName: 'anywhere', serverHost: host, serverPort: 8888, allowedRootLinks: ['all'] })).toBeNull();
      expect(await db.downloader.findUniqueOrThrow({ where: { name: 'anywhere' } })).toMatchObject({ host: '127.0.0.1', port: 8888, allowedPatterns: ['all'] });
      expect(lines().filter((l) => l.message.startsWith('downloader address taken from the call'))).toEqual([expect.objectContaining({ level: 'info', downloader: 'anywhere', address: '127.0.0.1' })]);
      expect((await changes())[0]).toMatchObject({ name: 'anywhere', host: '127.0.0.1' });
    });

    it('refuses a list with nothing usable and stores nothing', async () => {
      const { grpcPort } = await startRegistry();
      const err = await register(grpcPort, { serverName: 'empty', serverHost: '', serverPort: 8888, allowedRootLinks: ['', ' '] });
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details).toContain('no usable pattern');
      expect(await db.downloader.count()).toBe(0);
      expect(await changes()).toEqual([]);
    });

    it('takes the Go downloader\'s one registration end to end and health-checks it', async () => {
      const { app, grpcPort } = await startRegistry();
      const go = await startGoDownloader();
      gos.push(go);
      const result = await registerOnce({ registryAddress: `127.0.0.1:${grpcPort}`, name: 'Unona', assign: 'youtube.com, rutube.ru,', host: '0.0.0.0', port: go.port, deadlineMs: 5000 });
      expect(result.error).toBeNull();
      expect(result.request.allowedRootLinks).toEqual(['youtube.com', ' rutube.ru', '']);
      expect(await db.downloader.findUniqueOrThrow({ where: { name: 'Unona' } })).toMatchObject({ host: '127.0.0.1', port: go.port, allowedPatterns: ['youtube.com', 'rutube.ru'] });
      await app.pollHealth();
      expect(go.calls('Healtheck')).toHaveLength(1);
      expect(await db.downloader.findUniqueOrThrow({ where: { name: 'Unona' } })).toMatchObject({ healthy: true, lastHealthOk: true, lastHealthMessage: 'OK' });
    });

    it('keeps a registration across a registry restart: the Go downloader, which never registers again, is still listed and polled', async () => {
      const first = await startRegistry();
      const go = await startGoDownloader();
      gos.push(go);
      expect((await registerOnce({ registryAddress: `127.0.0.1:${first.grpcPort}`, name: 'once', assign: 'all', host: '', port: go.port, deadlineMs: 5000 })).error).toBeNull();
      await first.app.stop();
      apps.splice(apps.indexOf(first.app), 1);

      go.clearCalls();
      // A new registry on the same database; nothing registers with it.
      const second = await startRegistry();
      expect((await second.app.store.list()).map((d) => [d.name, d.host, d.port])).toEqual([['once', '127.0.0.1', go.port]]);
      // Its poller's first round runs at start, by itself.
      await waitFor(() => go.calls('Healtheck').length >= 1, { what: 'the new registry to call Healtheck' });
      await waitFor(async () => (await db.downloader.findUniqueOrThrow({ where: { name: 'once' } })).lastHealthOk === true, { what: 'the health check to be recorded' });
      expect(go.calls().filter((c) => c.method !== 'Healtheck')).toEqual([]);
      expect(await db.downloader.findUniqueOrThrow({ where: { name: 'once' } })).toMatchObject({ healthy: true, lastHealthMessage: 'OK' });
    });
  });

  describe('health checks', () => {
    const servers: RunningServer[] = [];
    afterAll(() => Promise.all(servers.map((s) => s.stop(100))));
    const handlers = (message: string): DownloaderHandlers => ({
      SetToQueue: async () => ({ linksInWork: [] }),
      DeleteFromQueue: async () => ({ linksInWork: [] }),
      CleanHistory: async () => ({ history: [] }),
      Status: async () => ({ linksInWork: [], sensors: '' }),
      Queue: async () => ({ queue: [] }),
      Healtheck: async () => ({ message }),
    });

    it('records answers, marks a silent downloader unhealthy, and healthy again when it answers', async () => {
      const { app, grpcPort } = await startRegistry({ UNHEALTHY_AFTER_S: '0' });
      const up = await serveDownloader(handlers('all good'));
      servers.push(up);
      const downPort = await freePort();
      expect(await register(grpcPort, { serverName: 'up', serverHost: '127.0.0.1', serverPort: up.port, allowedRootLinks: ['*'] })).toBeNull();
      expect(await register(grpcPort, { serverName: 'down', serverHost: '127.0.0.1', serverPort: downPort, allowedRootLinks: ['vk.com'] })).toBeNull();

      await app.pollHealth();
      const upRow = await db.downloader.findUniqueOrThrow({ where: { name: 'up' } });
      const downRow = await db.downloader.findUniqueOrThrow({ where: { name: 'down' } });
      expect(upRow).toMatchObject({ healthy: true, lastHealthOk: true, lastHealthMessage: 'all good' });
      expect(downRow).toMatchObject({ healthy: false, lastHealthOk: false });
      expect(downRow.lastHealthMessage).toContain('UNAVAILABLE');
      expect(downRow.lastHealthAt).not.toBeNull();

      // The downloader comes up on its registered port.
      const revived = await serveDownloader(handlers('back'), '127.0.0.1', downPort);
      servers.push(revived);
      await app.pollHealth();
      expect(await db.downloader.findUniqueOrThrow({ where: { name: 'down' } })).toMatchObject({ healthy: true, lastHealthOk: true, lastHealthMessage: 'back' });

      const healthEvents = (await changes()).filter((e) => e.change === 'health');
      expect(healthEvents).toEqual([
        expect.objectContaining({ name: 'down', healthy: false }),
        expect.objectContaining({ name: 'down', healthy: true }),
      ]);
    });

    it('keeps a downloader healthy through failures shorter than UNHEALTHY_AFTER_S', async () => {
      const { app, grpcPort } = await startRegistry({ UNHEALTHY_AFTER_S: '600' });
      expect(await register(grpcPort, { serverName: 'blip', serverHost: '127.0.0.1', serverPort: await freePort(), allowedRootLinks: ['*'] })).toBeNull();
      await app.pollHealth();
      expect(await db.downloader.findUniqueOrThrow({ where: { name: 'blip' } })).toMatchObject({ healthy: true, lastHealthOk: false });
    });

    it('does not hold the time it was itself down against a downloader: silence counts from its start', async () => {
      // Left by an earlier run: last seen an hour ago, at an address nobody answers any more.
      const hourAgo = new Date(Date.now() - 3600_000);
      await db.downloader.create({ data: { name: 'from-before', host: '127.0.0.1', port: await freePort(), allowedPatterns: ['*'], registeredAt: hourAgo, lastSeenAt: hourAgo } });
      const { app } = await startRegistry({ UNHEALTHY_AFTER_S: '30' });
      await app.pollHealth();
      expect(await db.downloader.findUniqueOrThrow({ where: { name: 'from-before' } })).toMatchObject({ healthy: true, lastHealthOk: false });
      expect((await changes()).filter((e) => e.name === 'from-before')).toEqual([]);
      await db.downloader.delete({ where: { name: 'from-before' } });
    });

    it('does not let a check of an old address mark a re-registered downloader down', async () => {
      const { app, grpcPort } = await startRegistry({ UNHEALTHY_AFTER_S: '0' });
      expect(await register(grpcPort, { serverName: 'mover', serverHost: '127.0.0.1', serverPort: await freePort(), allowedRootLinks: ['*'] })).toBeNull();
      const stale = await db.downloader.findUniqueOrThrow({ where: { name: 'mover' } });
      const live = await serveDownloader(handlers('moved'));
      servers.push(live);
      expect(await register(grpcPort, { serverName: 'mover', serverHost: '127.0.0.1', serverPort: live.port, allowedRootLinks: ['*'] })).toBeNull();
      expect(await app.store.recordHealth(stale, false, 'old address down', new Date(), 0)).toBeNull();
      expect(await db.downloader.findUniqueOrThrow({ where: { name: 'mover' } })).toMatchObject({ healthy: true, port: live.port, lastHealthOk: null });
    });
  });
});
