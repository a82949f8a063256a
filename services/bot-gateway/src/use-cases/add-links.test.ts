import { connectDatabase, type Database } from '@dwld/db';
import { EventPublisher } from '@dwld/events';
import { createLogger, silentLogger } from '@dwld/logger';
import { PassThrough } from 'node:stream';
import { createRedisNamespace, createTestDatabase, freePort, type RedisNamespace, type TestDatabase } from '@dwld/testkit';
import { Redis } from 'ioredis';
import { LinkRateLimiter } from '../rate-limit';
import { LinkQueue } from '../store/link-queue';
import type { HostResolution, HostResolver } from '../dns/host-resolver';
import { AddLinks } from './add-links';
import { PrivateHostCheck } from './private-host-check';

/** The resolver port answered from a table (the DNS adapter has its own tests against a DNS server). */
class TableResolver implements HostResolver {
  readonly asked: string[] = [];
  constructor(private readonly table: Record<string, string[]> = {}) {}
  async resolve(host: string): Promise<HostResolution> {
    this.asked.push(host);
    const addresses = this.table[host];
    return addresses ? { addresses, complete: true } : { addresses: [], complete: true, failure: 'ENOTFOUND' };
  }
}

const hostCheck = (resolver: HostResolver = new TableResolver()) => new PrivateHostCheck({ resolver, cacheMs: 60_000, unresolvedCacheMs: 10_000, logger: silentLogger() });

describe('AddLinks when everything is down', () => {
  it('says not_queued when neither PostgreSQL nor Redis takes the link', async () => {
    const [pgPort, redisPort] = await Promise.all([freePort(), freePort()]);
    const { db, sql } = connectDatabase(`postgresql://postgres@127.0.0.1:${pgPort}/none`, { connectionTimeoutMs: 300 });
    const redis = new Redis(`redis://127.0.0.1:${redisPort}`, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    const stream = new PassThrough();
    let logged = '';
    stream.on('data', (chunk: Buffer) => (logged += chunk.toString()));
    const intake = new AddLinks({
      links: new LinkQueue(db, sql),
      publisher: new EventPublisher({ redis, prefix: 'nowhere' }),
      logger: createLogger({ service: 'bot-gateway', level: 'info', json: true, stream }),
      policy: { maxLength: 2048, allowPrivateHosts: false },
      hosts: hostCheck(),
      defaultQuality: '720',
      dispatchDelayMs: 60_000,
      choices: { QUALITY_OPTIONS: ['720'], FOLDERS: [] },
      maxPerMessage: 10,
      rate: new LinkRateLimiter(redis, 'nowhere', 30),
      clock: () => new Date(),
    });
    try {
      const outcome = await intake.add({ raw: 'https://youtube.com/watch?v=lost', userId: '1', chatId: '1', username: null, messageId: 5 });
      expect(outcome).toEqual({ status: 'not_queued', url: 'https://youtube.com/watch?v=lost' });
      // Rejections do not touch either store.
      expect(await intake.add({ raw: 'ftp://x.org/a', userId: '1', chatId: '1', username: null, messageId: 6 })).toEqual({ status: 'rejected', reason: 'scheme' });
      // The rate limit lives in Redis: while it cannot be asked, links are let in (PostgreSQL may take them).
      expect(await intake.admit('1', ['a', 'b'])).toEqual({ taken: ['a', 'b'], refused: 0, retryAfterMs: 0 });
      expect(await intake.admit('2', ['c'])).toEqual({ taken: ['c'], refused: 0, retryAfterMs: 0 });
      // Said once for the outage, not at each message.
      const warnings = logged.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { message: string }).filter((l) => l.message.startsWith('rate limit unavailable'));
      expect(warnings).toHaveLength(1);
    } finally {
      redis.disconnect();
      await db.$disconnect();
    }
  });
});

describe('AddLinks with a message seen before', () => {
  it('recognises a redelivered message whose link was already handed over, and queues nothing', async () => {
    const database = await createTestDatabase();
    const ns = await createRedisNamespace('intake');
    const { db, sql } = connectDatabase(database.url, { poolSize: 2 });
    const intake = new AddLinks({
      links: new LinkQueue(db, sql),
      publisher: new EventPublisher({ redis: ns.redis, prefix: ns.prefix }),
      logger: silentLogger(),
      policy: { maxLength: 2048, allowPrivateHosts: false },
      hosts: hostCheck(),
      defaultQuality: '720',
      dispatchDelayMs: 0,
      choices: { QUALITY_OPTIONS: ['720'], FOLDERS: [] },
      maxPerMessage: 10,
      rate: new LinkRateLimiter(ns.redis, ns.prefix, 30),
      clock: () => new Date(),
    });
    try {
      const url = 'https://youtube.com/watch?v=again';
      const first = await intake.add({ raw: url, userId: '7', chatId: '7', username: null, messageId: 40 });
      expect(first.status).toBe('queued');
      // A scheduler handed it over: the row left the queue, the history keeps the message id.
      const link = await db.link.delete({ where: { id: first.status === 'queued' ? first.link.id : -1 } });
      await db.dispatch.create({
        data: { linkId: link.id, url, host: link.host, userId: 7n, chatId: 7n, downloader: 'nas', quality: '720', messageId: 40, attempts: 1, sendAt: link.sendAt },
      });
      expect(await intake.add({ raw: url, userId: '7', chatId: '7', username: null, messageId: 40 })).toEqual({ status: 'handed_over', url, downloader: 'nas' });
      expect(await db.link.count()).toBe(0);
      // The same link in a new message is a new request.
      expect((await intake.add({ raw: url, userId: '7', chatId: '7', username: null, messageId: 41 })).status).toBe('queued');
      // And from another chat with the same message number, too.
      expect((await intake.add({ raw: url, userId: '8', chatId: '8', username: null, messageId: 40 })).status).toBe('queued');
    } finally {
      await db.$disconnect();
      await ns.cleanup();
      await database.drop();
    }
  });
});

describe('AddLinks: the per-message cap, the per-person rate limit and the choices', () => {
  let database: TestDatabase;
  let ns: RedisNamespace;
  let db: Database;
  let addLinks: AddLinks;
  const now = new Date('2026-11-27T12:00:00.000Z');
  const resolver = new TableResolver({ 'inward.test': ['127.0.0.1', '::1'], 'metadata.test': ['169.254.169.254'], 'mixed.test': ['10.0.0.1', '93.184.215.14'], 'public.test': ['93.184.215.14'] });

  beforeAll(async () => {
    [database, ns] = await Promise.all([createTestDatabase(), createRedisNamespace('add-links')]);
    const access = connectDatabase(database.url, { poolSize: 2 });
    db = access.db;
    addLinks = new AddLinks({
      links: new LinkQueue(db, access.sql),
      publisher: new EventPublisher({ redis: ns.redis, prefix: ns.prefix }),
      logger: silentLogger(),
      policy: { maxLength: 2048, allowPrivateHosts: false },
      hosts: hostCheck(resolver),
      defaultQuality: '1080',
      dispatchDelayMs: 60_000,
      choices: { QUALITY_OPTIONS: ['720', '1080'], FOLDERS: ['Music'] },
      maxPerMessage: 3,
      rate: new LinkRateLimiter(ns.redis, ns.prefix, 4),
      clock: () => now,
    });
  });
  afterAll(async () => {
    await db.$disconnect();
    await Promise.all([database.drop(), ns.cleanup()]);
  });

  it('takes at most MAX_LINKS_PER_MESSAGE of a message, in order', () => {
    expect(addLinks.cap(['a', 'b', 'c', 'd', 'e'])).toEqual({ taken: ['a', 'b', 'c'], dropped: 2 });
    expect(addLinks.cap(['a'])).toEqual({ taken: ['a'], dropped: 0 });
  });

  it('lets a person add LINKS_PER_MINUTE links a minute, each person on their own', async () => {
    expect(await addLinks.admit('1', ['a', 'b', 'c'])).toMatchObject({ taken: ['a', 'b', 'c'], refused: 0 });
    const over = await addLinks.admit('1', ['d', 'e']);
    expect(over).toMatchObject({ taken: ['d'], refused: 1 });
    expect(over.retryAfterMs).toBeGreaterThan(0);
    expect(over.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await addLinks.admit('1', ['f'])).toMatchObject({ taken: [], refused: 1 });
    expect(await addLinks.admit('2', ['g'])).toMatchObject({ taken: ['g'], refused: 0 });
  });

  it('holds a chosen quality and folder to the options, and stores nothing it refuses', async () => {
    const request = { userId: '3', chatId: '3', username: null, messageId: null };
    expect(await addLinks.add({ ...request, raw: 'https://example.com/q', quality: '4320' })).toEqual({ status: 'not_a_choice', field: 'quality' });
    expect(await addLinks.add({ ...request, raw: 'https://example.com/f', folder: 'Books' })).toEqual({ status: 'not_a_choice', field: 'folder' });
    expect(await db.link.count()).toBe(0);
    const chosen = await addLinks.add({ ...request, raw: 'https://example.com/ok', quality: '720', folder: 'Music' });
    expect(chosen).toMatchObject({ status: 'queued', link: { quality: '720', folder: 'Music', sendAt: new Date(now.getTime() + 60_000) } });
    // A default is no choice: POST /link's max need not be an option.
    expect(await addLinks.add({ ...request, raw: 'https://example.com/max', defaultQuality: 'max' })).toMatchObject({ status: 'queued', link: { quality: 'max' } });
    expect(await addLinks.add({ ...request, raw: 'https://example.com/plain' })).toMatchObject({ status: 'queued', link: { quality: '1080', folder: null } });
  });

  it('refuses a host whose name resolves only to private addresses, and stores and announces nothing', async () => {
    const request = { userId: '4', chatId: '4', username: null, messageId: null };
    const before = await db.link.count();
    const entries = async () => {
      let total = 0;
      for (const key of await ns.redis.keys(`${ns.prefix}:*`)) if ((await ns.redis.type(key)) === 'stream') total += await ns.redis.xlen(key);
      return total;
    };
    const published = await entries();
    expect(published).toBeGreaterThan(0);
    expect(await addLinks.add({ ...request, raw: 'https://inward.test/admin' })).toEqual({ status: 'rejected', reason: 'private_address' });
    expect(await addLinks.add({ ...request, raw: 'http://metadata.test/latest/meta-data/' })).toEqual({ status: 'rejected', reason: 'private_address' });
    expect(await db.link.count()).toBe(before);
    expect(await entries()).toBe(published);
    // One public address among them, or no answer at all: taken.
    expect(await addLinks.add({ ...request, raw: 'https://mixed.test/v' })).toMatchObject({ status: 'queued' });
    expect(await addLinks.add({ ...request, raw: 'https://public.test/v' })).toMatchObject({ status: 'queued' });
    expect(await addLinks.add({ ...request, raw: 'https://unknown.test/v' })).toMatchObject({ status: 'queued' });
  });

  it('starts the lookups of a message\'s hosts together, once per host', async () => {
    const asked = resolver.asked.length;
    addLinks.prepare(['https://a.test/1', 'https://b.test/2', 'https://a.test/3', 'ftp://c.test/x', 'https://10.0.0.1/']);
    expect(resolver.asked.slice(asked).sort()).toEqual(['a.test', 'b.test']);
  });
});
