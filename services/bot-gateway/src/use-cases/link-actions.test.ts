// The use-cases that act on one link (set quality, pick a folder, retry, remove), against a real
// PostgreSQL and Redis and without Telegram: the outbox and the downloaders are recorders.
import type { DownloaderPort } from '@dwld/contract';
import { connectDatabase, type Database, type Link } from '@dwld/db';
import { DownloaderError } from '@dwld/errors';
import { EventPublisher, streamKey } from '@dwld/events';
import { silentLogger } from '@dwld/logger';
import { createRedisNamespace, createTestDatabase, type RedisNamespace, type TestDatabase } from '@dwld/testkit';
import { DispatchPauseState } from '../dispatch-pause';
import { DownloaderList } from '../store/downloaders';
import { LinkQueue } from '../store/link-queue';
import { UserStore } from '../store/users';
import type { TelegramOutbox } from '../telegram/outbox';
import { isFolderChoice, isQualityChoice, pickFolder, setQuality } from './change-link';
import { removeLink, removeLinksByUrl } from './remove-link';
import { retryLink } from './retry-link';

const NOW = new Date('2026-11-27T12:00:00.000Z');
const ALICE = { id: '200', role: 'user' as const };
const BOB = { id: '201', role: 'user' as const };
const ADMIN = { id: '100', role: 'admin' as const };

describe('use-cases acting on one link', () => {
  let database: TestDatabase;
  let ns: RedisNamespace;
  let db: Database;
  let deps: ReturnType<typeof wire>;
  const outboxCalls: Array<[string, ...unknown[]]> = [];
  const toldDownloaders: Array<[string, string]> = [];

  function wire(access: ReturnType<typeof connectDatabase>) {
    const outbox: Pick<TelegramOutbox, 'edit' | 'delete'> = {
      edit: async (job, options) => void outboxCalls.push(['edit', job, options]),
      delete: async (chatId, messageId, options) => void outboxCalls.push(['delete', chatId, messageId, options]),
    };
    const downloaders: Pick<DownloaderPort, 'remove'> = {
      remove: async (target, url) => {
        const name = typeof target === 'string' ? target : target.name;
        if (name === 'down') throw new DownloaderError('unavailable', name, 'DeleteFromQueue', 'connection refused');
        toldDownloaders.push([name, url]);
      },
    };
    return {
      config: { QUALITY_OPTIONS: ['720', '1080', 'max'], FOLDERS: ['Music', 'Films'], DEFAULT_LANGUAGE: 'en' as const, SERVICE_MESSAGE_TTL_S: 300_000, MAX_LINK_LENGTH: 2048 },
      links: new LinkQueue(access.db, access.sql),
      users: new UserStore(access.db),
      pause: new DispatchPauseState(access.db),
      fleet: new DownloaderList(access.db),
      publisher: new EventPublisher({ redis: ns.redis, prefix: ns.prefix }),
      outbox,
      downloaders,
      logger: silentLogger(),
      clock: () => NOW,
    };
  }

  async function events(type: string): Promise<Array<Record<string, unknown>>> {
    const entries = await ns.redis.xrange(streamKey(ns.prefix, type), '-', '+');
    return entries.map(([, f]) => JSON.parse(f[f.indexOf('data') + 1]!) as Record<string, unknown>);
  }

  let next = 0;
  function link(owner: { id: string }, data: Partial<Omit<Link, 'id'>> = {}): Promise<Link> {
    const url = data.url ?? `https://example.com/v/${++next}`;
    return db.link.create({ data: { url, host: new URL(url).host, userId: BigInt(owner.id), chatId: BigInt(owner.id), username: null, quality: '720', sendAt: new Date(NOW.getTime() + 60_000), ...data } });
  }

  beforeAll(async () => {
    [database, ns] = await Promise.all([createTestDatabase(), createRedisNamespace('use-cases')]);
    const access = connectDatabase(database.url, { poolSize: 3 });
    db = access.db;
    deps = wire(access);
  });
  afterAll(async () => {
    await db.$disconnect();
    await Promise.all([database.drop(), ns.cleanup()]);
  });
  beforeEach(() => {
    outboxCalls.length = 0;
    toldDownloaders.length = 0;
  });

  it('holds a picked quality or folder to the options on offer', () => {
    expect(isQualityChoice(deps.config, '1080')).toBe(true);
    expect(isQualityChoice(deps.config, '4320')).toBe(false);
    expect(isFolderChoice(deps.config, 'Films')).toBe(true);
    expect(isFolderChoice(deps.config, 'films')).toBe(false);
  });

  it('sets the quality of a waiting link for its owner or an admin, and tells the schedulers', async () => {
    const mine = await link(ALICE);
    const set = await setQuality(deps, ALICE, mine.id, '1080');
    expect(set).toMatchObject({ ok: true, link: { id: mine.id, quality: '1080', folder: null } });
    expect(await events('quality.set')).toContainEqual({ linkId: mine.id, userId: ALICE.id, quality: '1080', folder: null });
    expect(await setQuality(deps, ADMIN, mine.id, 'max')).toMatchObject({ ok: true, link: { quality: 'max' } });

    expect(await setQuality(deps, BOB, mine.id, '720')).toEqual({ ok: false, why: 'not_yours' });
    expect(await setQuality(deps, ALICE, mine.id, '4320')).toEqual({ ok: false, why: 'not_a_choice' });
    expect(await setQuality(deps, ALICE, 999_999, '720')).toEqual({ ok: false, why: 'gone' });
    expect((await db.link.findUniqueOrThrow({ where: { id: mine.id } })).quality).toBe('max');
  });

  it('refuses a change while a scheduler holds the link, and on a link given up', async () => {
    const held = await link(ALICE, { claimOwner: 'scheduler-1', claimExpiresAt: new Date(NOW.getTime() + 30_000) });
    expect(await setQuality(deps, ALICE, held.id, '1080')).toEqual({ ok: false, why: 'in_flight' });
    // A hold that ran out (its scheduler died) is no hold.
    const stale = await link(ALICE, { claimOwner: 'scheduler-1', claimExpiresAt: new Date(NOW.getTime() - 1) });
    expect(await setQuality(deps, ALICE, stale.id, '1080')).toMatchObject({ ok: true });
    const failed = await link(ALICE, { status: 'failed', attempts: 5 });
    expect(await pickFolder(deps, ALICE, failed.id, { index: 0 })).toEqual({ ok: false, why: 'gone' });
  });

  it('picks a folder by its button or its name; the folder it has, picked again, clears it', async () => {
    const mine = await link(ALICE);
    expect(await pickFolder(deps, ALICE, mine.id, { index: 1 })).toMatchObject({ ok: true, link: { folder: 'Films' } });
    expect(await pickFolder(deps, ALICE, mine.id, { index: 1 })).toMatchObject({ ok: true, link: { folder: null } });
    expect(await pickFolder(deps, ALICE, mine.id, { name: 'Music' })).toMatchObject({ ok: true, link: { folder: 'Music' } });
    expect(await pickFolder(deps, ALICE, mine.id, { index: 2 })).toEqual({ ok: false, why: 'not_a_choice' });
    expect(await pickFolder(deps, ALICE, mine.id, { name: 'Books' })).toEqual({ ok: false, why: 'not_a_choice' });
    expect(await pickFolder(deps, BOB, mine.id, { index: 0 })).toEqual({ ok: false, why: 'not_yours' });
    expect((await db.link.findUniqueOrThrow({ where: { id: mine.id } })).folder).toBe('Music');
    expect((await events('quality.set')).filter((e) => e.linkId === mine.id).map((e) => e.folder)).toEqual(['Films', null, 'Music']);
  });

  it('queues a given-up link afresh, sent now by the clock, its tries counted from zero', async () => {
    const failed = await link(ALICE, { status: 'failed', attempts: 7, lastError: 'refused', lastErrorKind: 'refused', firstFailedAt: new Date(NOW.getTime() - 3_600_000) });
    expect(await retryLink(deps, BOB, failed.id)).toEqual({ ok: false, why: 'not_yours' });
    const retried = await retryLink(deps, ALICE, failed.id);
    expect(retried).toMatchObject({ ok: true, link: { status: 'queued', attempts: 0, sendAt: NOW, lastError: null, lastErrorKind: null, firstFailedAt: null } });
    expect(await events('link.added')).toContainEqual(expect.objectContaining({ linkId: failed.id, sendAt: NOW.toISOString() }));
    // Pressed twice: queued already.
    expect(await retryLink(deps, ALICE, failed.id)).toEqual({ ok: false, why: 'not_failed' });
    expect(await retryLink(deps, ADMIN, 999_999)).toEqual({ ok: false, why: 'gone' });
  });

  it('removes a link: the row, the person\'s message, the card says so and goes later, every downloader is told', async () => {
    await db.downloader.createMany({
      data: ['alpha', 'down'].map((name) => ({ name, host: '127.0.0.1', port: 1, allowedPatterns: ['*'], registeredAt: NOW, lastSeenAt: NOW })),
    });
    await db.user.create({ data: { telegramId: BigInt(ALICE.id), language: 'ru' } });
    const mine = await link(ALICE, { url: 'https://example.com/remove-me', messageId: 40, replyMessageId: 41 });
    expect(await removeLink(deps, BOB, mine.id)).toEqual({ ok: false, why: 'not_yours' });
    expect(await removeLink(deps, ALICE, mine.id)).toEqual({ ok: true, removed: true });
    expect(await db.link.count({ where: { id: mine.id } })).toBe(0);
    expect(outboxCalls).toEqual([
      ['delete', ALICE.id, 40, undefined],
      // In the owner's language, with nothing left to press.
      ['edit', { chatId: ALICE.id, messageId: 41, text: '🗑 <b>Удалено</b>: https://example.com/remove-me' }, { jobId: `card-removed-${mine.id}` }],
      ['delete', ALICE.id, 41, { delayMs: 300_000 }],
    ]);
    // The one that is down is only logged.
    expect(toldDownloaders).toEqual([['alpha', 'https://example.com/remove-me']]);
    expect(await removeLink(deps, ALICE, mine.id)).toEqual({ ok: false, why: 'gone' });
    await db.downloader.deleteMany();
  });

  it('removes by URL what the person may remove: their own, or everyone\'s for an admin', async () => {
    const url = 'https://example.com/shared';
    await link(ALICE, { url });
    await link(BOB, { url });
    expect(await removeLinksByUrl(deps, ALICE, `please drop ${url}`)).toEqual({ url, found: 1 });
    expect(await db.link.count({ where: { url } })).toBe(1);
    expect(await removeLinksByUrl(deps, ALICE, url)).toEqual({ url, found: 0 });
    expect(await removeLinksByUrl(deps, ADMIN, url)).toEqual({ url, found: 1 });
    expect(await db.link.count({ where: { url } })).toBe(0);
    expect(await removeLinksByUrl(deps, ADMIN, 'not a link')).toEqual({ url: 'not a link', found: 0 });
  });
});
