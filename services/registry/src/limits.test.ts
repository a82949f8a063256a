import { PassThrough } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { BotConnection, registerDownloader, type RegisterDownloaderRequest } from '@dwld/contract';
import { createDatabase, type Database } from '@dwld/db';
import { EventPublisher, streamKey, downloaderChanged } from '@dwld/events';
import { createLogger, silentLogger, type Logger } from '@dwld/logger';
import { createRedisNamespace, createTestDatabase, freePort, waitFor, type RedisNamespace, type TestDatabase } from '@dwld/testkit';
import { maxRequestBytes, RegistryApp } from './app';
import { parseRegistryConfig } from './config';

// The registry's limits over real gRPC, PostgreSQL and Redis: per-address rate, registrations
// in flight, one write per name, the size of the table and of a row, forgetting the silent.
describe('registry limits (real gRPC, PostgreSQL and Redis)', () => {
  let database: TestDatabase;
  let redisNs: RedisNamespace;
  let db: Database;
  const apps: RegistryApp[] = [];

  beforeAll(async () => {
    [database, redisNs] = await Promise.all([createTestDatabase(), createRedisNamespace('registry-limits')]);
    db = createDatabase(database.url, { poolSize: 4 });
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await db.$disconnect();
    await Promise.all([database.drop(), redisNs.cleanup()]);
  });
  beforeEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
    await db.downloader.deleteMany();
    await redisNs.redis.del(streamKey(redisNs.prefix, downloaderChanged));
  });

  async function startRegistry(env: Record<string, string> = {}, logger: Logger = silentLogger()) {
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
    const app = new RegistryApp({ config, db, redis: redisNs.redis, publisher: new EventPublisher({ redis: redisNs.redis, prefix: redisNs.prefix }), logger });
    apps.push(app);
    const ports = await app.start();
    return { app, ...ports, target: `127.0.0.1:${ports.grpcPort}` };
  }

  /** OK, or the gRPC status name and details of the refusal. */
  function register(target: string, request: Partial<RegisterDownloaderRequest>, token?: string): Promise<{ code: string; details: string }> {
    return registerDownloader(target, request as RegisterDownloaderRequest, { token }).then(
      () => ({ code: 'OK', details: '' }),
      (err: grpc.ServiceError) => ({ code: grpc.status[err.code]!, details: err.details }),
    );
  }

  const nas = (port = 50051, name = 'nas'): RegisterDownloaderRequest => ({ serverName: name, serverHost: '10.0.0.5', serverPort: port, allowedRootLinks: ['*'] });

  async function changes() {
    const entries = await redisNs.redis.xrange(streamKey(redisNs.prefix, downloaderChanged), '-', '+');
    return entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('data') + 1]!) as Record<string, unknown>);
  }

  async function metric(app: RegistryApp, name: string, labels = ''): Promise<number> {
    const text = await app.metrics.metrics();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  }

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
    return { logger, lines, text: () => text };
  }

  /**
   * Holds every write to `downloaders` (a lock no UPDATE or INSERT gets past; reads go on) until
   * the returned release is called: registrations stay in flight for as long as the test needs.
   */
  async function holdWrites(): Promise<() => Promise<void>> {
    const holder = createDatabase(database.url, { poolSize: 1 });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const done = holder.$transaction(
      async (tx) => {
        await tx.$executeRawUnsafe('LOCK TABLE downloaders IN EXCLUSIVE MODE');
        locked();
        await released;
      },
      { timeout: 60_000, maxWait: 10_000 },
    );
    await isLocked;
    return async () => {
      release();
      await done;
      await holder.$disconnect();
    };
  }

  /** Statements of this database waiting for a lock (the held writes). */
  async function waitingWrites(): Promise<number> {
    const [row] = await db.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    return row!.n;
  }

  describe('per caller address', () => {
    it('lets a burst through, then answers RESOURCE_EXHAUSTED at once and stores nothing, before even looking at the token', async () => {
      const token = 'limits-registration-token-01';
      const { app, target } = await startRegistry({ REGISTRATION_BURST_PER_PEER: '3', REGISTRATIONS_PER_PEER_PER_MINUTE: '1', REGISTRATION_TOKEN: token });
      expect(await register(target, nas(1, 'a'), token)).toEqual({ code: 'OK', details: '' });
      expect(await register(target, nas(1, 'b'), 'wrong-token-but-long-enough')).toMatchObject({ code: 'UNAUTHENTICATED' });
      expect(await register(target, nas(1, 'c'), token)).toEqual({ code: 'OK', details: '' });
      const refused = await register(target, nas(1, 'd'), token);
      expect(refused).toEqual({ code: 'RESOURCE_EXHAUSTED', details: 'too many registrations from this address (at most 1 a minute, 3 at once); register again later' });
      // A caller without the token is refused as fast: the rate comes first.
      expect(await register(target, nas(1, 'e'))).toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
      expect((await db.downloader.findMany({ orderBy: { name: 'asc' } })).map((d) => d.name)).toEqual(['a', 'c']);
      expect(await metric(app, 'dwld_registrations_total', 'outcome="rate_limited"')).toBe(2);
    });
  });

  describe('registrations in flight', () => {
    it('answers RESOURCE_EXHAUSTED at once beyond MAX_REGISTRATIONS_IN_FLIGHT, and the ones in flight complete', async () => {
      const { app, target } = await startRegistry({ MAX_REGISTRATIONS_IN_FLIGHT: '2' });
      const release = await holdWrites();
      let first: Promise<{ code: string }>, second: Promise<{ code: string }>;
      try {
        first = register(target, nas(1, 'one'));
        second = register(target, nas(1, 'two'));
        await waitFor(async () => (await metric(app, 'dwld_registrations_in_flight')) === 2 && (await waitingWrites()) === 2, { what: 'two registrations held at the database' });
        // Answered while the other two still wait: nothing queued behind them.
        expect(await register(target, nas(1, 'three'))).toEqual({ code: 'RESOURCE_EXHAUSTED', details: 'the registry is storing 2 registrations already; register again shortly' });
      } finally {
        await release();
      }
      expect(await Promise.all([first, second])).toEqual([{ code: 'OK', details: '' }, { code: 'OK', details: '' }]);
      expect((await db.downloader.findMany({ orderBy: { name: 'asc' } })).map((d) => d.name)).toEqual(['one', 'two']);
      expect(await metric(app, 'dwld_registrations_in_flight')).toBe(0);
      expect(await metric(app, 'dwld_registrations_total', 'outcome="busy"')).toBe(1);
      // Slots come back: the next one is stored.
      expect(await register(target, nas(1, 'three'))).toMatchObject({ code: 'OK' });
    });
  });

  describe('calls per connection', () => {
    it('reads at most 32 calls of one connection at a time; the rest wait in the client, and every call is answered', async () => {
      const { app, target } = await startRegistry({ MAX_REGISTRATIONS_IN_FLIGHT: '100' });
      const pipelined = new BotConnection(target, { ownConnection: true });
      const other = new BotConnection(target, { ownConnection: true });
      try {
        // Connected (the server's settings known) before the test's calls.
        await pipelined.register(nas(1, 'warm-up'));
        const release = await holdWrites();
        let calls: Array<Promise<unknown>> = [];
        try {
          calls = Array.from({ length: 40 }, (_, i) => pipelined.register(nas(1, `piped-${i}`), { deadlineMs: 30_000 }));
          await waitFor(async () => (await metric(app, 'dwld_registrations_in_flight')) === 32, { what: '32 calls of the pipelining connection in flight' });
          // Another connection is not held back by it.
          calls.push(other.register(nas(1, 'other'), { deadlineMs: 30_000 }));
          await waitFor(async () => (await metric(app, 'dwld_registrations_in_flight')) === 33, { what: 'the other connection\'s call in flight too' });
        } finally {
          await release();
        }
        await Promise.all(calls);
        expect(await db.downloader.count()).toBe(42);
      } finally {
        pipelined.close();
        other.close();
      }
    });
  });

  describe('one write per name', () => {
    it('gives equal registrations of one name arriving together one write', async () => {
      const { logger, lines } = capturedLogger();
      const { app, target } = await startRegistry({}, logger);
      const release = await holdWrites();
      let calls: Array<Promise<{ code: string }>> = [];
      try {
        calls = Array.from({ length: 10 }, () => register(target, nas()));
        await waitFor(async () => (await metric(app, 'dwld_registrations_in_flight')) === 10 && (await waitingWrites()) >= 1, { what: 'ten registrations in flight, one at the database' });
        expect(await waitingWrites()).toBe(1);
      } finally {
        await release();
      }
      expect((await Promise.all(calls)).map((c) => c.code)).toEqual(Array(10).fill('OK'));
      expect(await db.downloader.count()).toBe(1);
      expect(await changes()).toEqual([{ name: 'nas', host: '10.0.0.5', port: 50051, patterns: ['*'], healthy: true, change: 'registered' }]);
      // One write: no second one finding the row as it stands.
      expect(lines().filter((l) => l.message.startsWith('downloader registered')).map((l) => l.message)).toEqual(['downloader registered']);
    });

    it('writes the latest of different registrations of one name: the row ends at the last address, the ones overtaken are never written', async () => {
      const { app, target } = await startRegistry();
      const release = await holdWrites();
      let calls: Array<Promise<{ code: string }>> = [];
      try {
        calls = [register(target, nas(1001))];
        await waitFor(async () => (await waitingWrites()) === 1, { what: 'the first write held at the database' });
        calls.push(register(target, nas(1002)));
        await waitFor(async () => (await metric(app, 'dwld_registrations_in_flight')) === 2, { what: 'the second registration in flight' });
        calls.push(register(target, nas(1003)));
        await waitFor(async () => (await metric(app, 'dwld_registrations_in_flight')) === 3, { what: 'the third registration in flight' });
        expect(await waitingWrites()).toBe(1);
      } finally {
        await release();
      }
      expect((await Promise.all(calls)).map((c) => c.code)).toEqual(['OK', 'OK', 'OK']);
      expect(await db.downloader.findUniqueOrThrow({ where: { name: 'nas' } })).toMatchObject({ port: 1003 });
      expect((await changes()).map((c) => c.port)).toEqual([1001, 1003]);
    });
  });

  describe('MAX_DOWNLOADERS', () => {
    it('refuses a new name once the table is full, and still takes the names already there', async () => {
      const { app, target } = await startRegistry({ MAX_DOWNLOADERS: '3' });
      for (const name of ['a', 'b', 'c']) expect(await register(target, nas(1, name))).toMatchObject({ code: 'OK' });
      const refused = await register(target, nas(1, 'd'));
      expect(refused).toEqual({ code: 'RESOURCE_EXHAUSTED', details: 'the registry holds its most downloaders (3, MAX_DOWNLOADERS): a new name is refused until one is forgotten' });
      expect(await register(target, nas(2, 'a'))).toMatchObject({ code: 'OK' });
      expect(await register(target, nas(2, 'a'))).toMatchObject({ code: 'OK' });
      expect((await db.downloader.findMany({ orderBy: { name: 'asc' } })).map((d) => [d.name, d.port])).toEqual([['a', 2], ['b', 1], ['c', 1]]);
      expect((await changes()).map((c) => c.name)).toEqual(['a', 'b', 'c', 'a']);
      expect(await metric(app, 'dwld_registrations_total', 'outcome="full"')).toBe(1);
    });

    it('never lets new names arriving together past it, from two replicas at once', async () => {
      const [one, two] = [await startRegistry({ MAX_DOWNLOADERS: '5' }), await startRegistry({ MAX_DOWNLOADERS: '5' })];
      const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => register((i % 2 ? one : two).target, nas(1, `new-${i}`))));
      expect(outcomes.filter((o) => o.code === 'OK')).toHaveLength(5);
      expect(outcomes.filter((o) => o.code === 'RESOURCE_EXHAUSTED')).toHaveLength(25);
      expect(await db.downloader.count()).toBe(5);
    });
  });

  describe('the size of a registration', () => {
    it('refuses patterns over MAX_PATTERN_BYTES with INVALID_ARGUMENT naming the rule, never the input', async () => {
      const { target } = await startRegistry({ MAX_PATTERN_BYTES: '256' });
      const hosts = Array.from({ length: 20 }, (_, i) => `secret-${i}.example.com`);
      const refused = await register(target, { ...nas(), allowedRootLinks: hosts });
      expect(refused).toEqual({ code: 'INVALID_ARGUMENT', details: 'allowedRootLinks must come to at most 256 bytes of patterns (after clean-up)' });
      expect(await db.downloader.count()).toBe(0);
      expect(await register(target, { ...nas(), allowedRootLinks: hosts.slice(0, 5) })).toMatchObject({ code: 'OK' });
    });

    it('refuses a request larger than it could ever take before decoding it, and keeps serving', async () => {
      const { target } = await startRegistry({ MAX_PATTERN_BYTES: '256' });
      const huge = { ...nas(), serverName: 'x'.repeat(maxRequestBytes(256) + 1) };
      expect(await register(target, huge)).toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
      expect(await register(target, nas())).toMatchObject({ code: 'OK' });
      expect(await db.downloader.count()).toBe(1);
    });
  });

  describe('forgetting', () => {
    it('deletes downloaders unheard of for FORGET_DOWNLOADER_AFTER_S, once across replicas, and says so with downloader.changed "forgotten"', async () => {
      const [one, two] = [await startRegistry(), await startRegistry()];
      const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600_000);
      for (const name of ['gone-1', 'gone-2']) {
        await db.downloader.create({ data: { name, host: '10.0.0.9', port: 7000, allowedPatterns: ['vk.com'], registeredAt: eightDaysAgo, lastSeenAt: eightDaysAgo, healthy: false } });
      }
      expect(await register(one.target, nas())).toMatchObject({ code: 'OK' });
      const [a, b] = await Promise.all([one.app.forgetSilent(), two.app.forgetSilent()]);
      expect([...a, ...b].map((d) => d.name).sort()).toEqual(['gone-1', 'gone-2']);
      expect((await db.downloader.findMany()).map((d) => d.name)).toEqual(['nas']);
      const forgotten = (await changes()).filter((c) => c.change === 'forgotten');
      expect(forgotten.sort((x, y) => String(x.name).localeCompare(String(y.name)))).toEqual([
        { name: 'gone-1', host: '10.0.0.9', port: 7000, patterns: ['vk.com'], healthy: false, change: 'forgotten' },
        { name: 'gone-2', host: '10.0.0.9', port: 7000, patterns: ['vk.com'], healthy: false, change: 'forgotten' },
      ]);
      // A forgotten name may register again: it is new.
      expect(await register(one.target, { ...nas(), serverName: 'gone-1' })).toMatchObject({ code: 'OK' });
    });

    it('forgets a registration that has answered no health check for FORGET_UNANSWERED_AFTER_S once it has itself asked that long, and keeps one that answered once', async () => {
      const twentyMinutesAgo = new Date(Date.now() - 20 * 60_000);
      const tenMinutesLater = new Date(twentyMinutesAgo.getTime() + 10 * 60_000);
      await db.downloader.create({ data: { name: 'junk', host: '10.0.0.9', port: 7000, allowedPatterns: ['*'], registeredAt: twentyMinutesAgo, lastSeenAt: twentyMinutesAgo, healthy: false } });
      await db.downloader.create({ data: { name: 'answered-once', host: '10.0.0.9', port: 7001, allowedPatterns: ['*'], registeredAt: twentyMinutesAgo, lastSeenAt: tenMinutesLater, healthy: false } });
      // (A registry judges only after asking for that long itself: app.test's "silence counts from its start".)
      await startRegistry({ FORGET_UNANSWERED_AFTER_S: '1' });
      await waitFor(async () => (await db.downloader.count({ where: { name: 'junk' } })) === 0, { what: 'the junk registration forgotten', timeout: 10_000 });
      expect((await db.downloader.findMany()).map((d) => d.name)).toEqual(['answered-once']);
      expect(await changes()).toEqual([expect.objectContaining({ name: 'junk', change: 'forgotten' })]);
    });

    it('forgets by itself, every so often, once its first health round has heard from the fleet', async () => {
      const hourAgo = new Date(Date.now() - 3600_000);
      await db.downloader.create({ data: { name: 'silent', host: '127.0.0.1', port: await freePort(), allowedPatterns: ['*'], registeredAt: hourAgo, lastSeenAt: hourAgo } });
      await startRegistry({ FORGET_DOWNLOADER_AFTER_S: '60' });
      await waitFor(async () => (await db.downloader.count()) === 0, { what: 'the silent downloader to be forgotten', timeout: 10_000 });
      expect(await changes()).toEqual([expect.objectContaining({ name: 'silent', change: 'forgotten' })]);
    });
  });

  describe('what it says', () => {
    it('warns once at start, without a token, that any caller may register; not with one, and never shows the token', async () => {
      const open = capturedLogger();
      await startRegistry({}, open.logger);
      expect(open.lines().filter((l) => l.level === 'warn')).toEqual([expect.objectContaining({ message: expect.stringContaining('REGISTRATION_TOKEN is not set: any caller') })]);
      const token = 'never-log-this-token-0042';
      const closed = capturedLogger();
      await startRegistry({ REGISTRATION_TOKEN: token }, closed.logger);
      expect(closed.lines().filter((l) => l.level === 'warn')).toEqual([]);
      expect(closed.text()).not.toContain(token);
    });

    it('answers grpc.health.v1 Check for the whole server, as an orchestrator asks it', async () => {
      const { target } = await startRegistry();
      const connection = new BotConnection(target);
      try {
        expect(await connection.health()).toBe('SERVING');
      } finally {
        connection.close();
      }
    });

    it('logs a flood of refusals as one line per kind per interval, with the count kept quiet', async () => {
      const { logger, lines } = capturedLogger();
      const { target } = await startRegistry({}, logger);
      for (let i = 0; i < 20; i++) expect(await register(target, { ...nas(), serverPort: 0 })).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(lines().filter((l) => l.message === 'registration refused: invalid request')).toEqual([expect.objectContaining({ level: 'warn', reason: 'serverPort must be between 1 and 65535' })]);
    });
  });
});
