import { connectDatabase, Prisma, type Database, type OutboxEntry, type Sql } from '@dwld/db';
import { createTestDatabase, type TestDatabase } from '@dwld/testkit';
import { CLAIM_SETTINGS, claimStatement, DispatchLedger, type UrgentLink } from './dispatch-ledger';

describe('DispatchLedger (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  let db: Database;
  let sql: Sql;
  let store: DispatchLedger;
  const past = () => new Date(Date.now() - 60_000);
  const claim = async (owner: string, limit: number, leaseMs: number) => (await store.claimRound(owner, limit, leaseMs)).links;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const access = connectDatabase(testDb.url, { poolSize: 12 });
    ({ db, sql } = access);
    store = new DispatchLedger(db, sql);
  });
  afterAll(async () => {
    await db.$disconnect();
    await testDb.drop();
  });
  beforeEach(async () => {
    await db.link.deleteMany();
    await db.dispatch.deleteMany();
    await db.setting.deleteMany();
    await db.downloader.deleteMany();
    await db.outboxEvent.deleteMany();
  });

  /** A dispatch.result for the outbox as the scheduler writes one: message ids as claimed. */
  const told = (linkId: number, extra: Record<string, unknown> = {}): OutboxEntry => ({
    eventId: `dispatch.result:${linkId}:1`, type: 'dispatch.result', version: 1, data: JSON.stringify({ linkId, ok: true, messageId: null, replyMessageId: null, ...extra }),
  });
  const outbox = async () => (await db.outboxEvent.findMany({ orderBy: { id: 'asc' } })).map((e) => ({ eventId: e.eventId, data: JSON.parse(e.data) as Record<string, unknown> }));

  /** Runs `body` with autovacuum off for `links`, so the statistics it sets up stay as they are. */
  async function withStatisticsKept(body: () => Promise<void>): Promise<void> {
    await db.$executeRawUnsafe('ALTER TABLE links SET (autovacuum_enabled = false)');
    try {
      await body();
    } finally {
      await db.$executeRawUnsafe('ALTER TABLE links RESET (autovacuum_enabled)');
    }
  }

  function addLinks(count: number, extra: Partial<{ sendAt: Date; claimOwner: string; claimExpiresAt: Date; status: 'queued' | 'failed' }> = {}) {
    return db.link.createMany({
      data: Array.from({ length: count }, (_, i) => ({
        url: `https://example.com/${i}-${Math.random()}`,
        host: 'example.com',
        chatId: 10n,
        userId: 9_007_199_254_740_993n,
        quality: '720',
        sendAt: past(),
        ...extra,
      })),
    });
  }

  it('claims only due, queued, unclaimed links, oldest first, with the row as it is', async () => {
    await addLinks(2);
    await addLinks(1, { sendAt: new Date(Date.now() + 60_000) });
    await addLinks(1, { status: 'failed' });
    await addLinks(1, { claimOwner: 'other', claimExpiresAt: new Date(Date.now() + 60_000) });
    const claimed = await claim('me', 10, 30_000);
    expect(claimed).toHaveLength(2);
    expect(claimed[0]).toMatchObject({ host: 'example.com', userId: 9_007_199_254_740_993n, chatId: 10n, quality: '720', attempts: 0, urgentEventId: null });
    expect(claimed[0]!.sendAt).toBeInstanceOf(Date);
    const rows = await db.link.findMany({ where: { claimOwner: 'me' } });
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.claimExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 20_000);
    // Claimed already: nothing more for anyone.
    expect(await claim('you', 10, 30_000)).toHaveLength(0);
  });

  it('claims by walking the send-time index, not by sorting every due link, even on stale statistics', async () => {
    // Statistics taken while the table was empty (VACUUM leaves it no pages), then a burst: the
    // planner guesses a handful of due rows.
    await withStatisticsKept(async () => {
      await db.$executeRawUnsafe('VACUUM ANALYZE links');
      await addLinks(3000);
      const plan = async (settings: string) => {
        const [row] = await sql.rowsWithSettings<{ 'QUERY PLAN': unknown }>(settings, Prisma.sql`EXPLAIN (FORMAT JSON) ${claimStatement('me', 64, 30_000)}`);
        return JSON.stringify(row!['QUERY PLAN']);
      };
      // Left to itself, the planner sorts all 3000 due rows to claim 64.
      expect(await plan('SET LOCAL enable_sort = on')).toContain('"Node Type":"Sort"');
      const claimPlan = await plan(CLAIM_SETTINGS);
      expect(claimPlan).not.toContain('"Node Type":"Sort"');
      expect(claimPlan).toContain('"Index Name":"links_status_send_at_id_idx"');
      // And the claim itself takes the oldest 64.
      const claimed = await claim('me', 64, 30_000);
      const oldest = await db.link.findMany({ orderBy: [{ sendAt: 'asc' }, { id: 'asc' }], take: 64, select: { id: true } });
      expect(claimed.map((link) => link.id)).toEqual(oldest.map((link) => link.id));
    });
  });

  it('claims no more than the limit, whatever plan the statistics lead to', async () => {
    // Statistics that say "no rows" on a table that has pages: the planner then puts the locking
    // subquery on the inner side of a nested loop, where a subquery it re-ran per row would
    // lock (and claim) a further row each time.
    await withStatisticsKept(async () => {
      await addLinks(200);
      await db.link.deleteMany();
      await db.$executeRawUnsafe('ANALYZE links');
      await addLinks(5);
      expect(await claim('one', 1, 30_000)).toHaveLength(1);
      expect(await db.link.count({ where: { claimOwner: 'one' } })).toBe(1);
      expect(await claim('two', 3, 30_000)).toHaveLength(3);
      expect(await db.link.count({ where: { claimOwner: 'two' } })).toBe(3);
    });
  });

  it('reads pause and downloaders with the claim, and claims nothing while paused (JSON true or "true")', async () => {
    await db.downloader.createMany({
      data: [
        { name: 'zeta', host: '10.0.0.2', port: 7002, allowedPatterns: ['vk.com'], healthy: false, registeredAt: new Date(), lastSeenAt: new Date() },
        { name: 'alpha', host: '10.0.0.1', port: 7001, allowedPatterns: ['*'], registeredAt: new Date(), lastSeenAt: new Date() },
      ],
    });
    await addLinks(2);
    for (const value of [true, 'true']) {
      await db.setting.upsert({ where: { key: 'dispatch.paused' }, create: { key: 'dispatch.paused', value }, update: { value } });
      const round = await store.claimRound('me', 10, 30_000);
      expect(round).toMatchObject({ paused: true, links: [] });
      expect(await db.link.count({ where: { claimOwner: { not: null } } })).toBe(0);
    }
    await db.setting.update({ where: { key: 'dispatch.paused' }, data: { value: false } });
    const round = await store.claimRound('me', 10, 30_000);
    expect(round.paused).toBe(false);
    expect(round.links).toHaveLength(2);
    expect(round.downloaders).toEqual([
      { name: 'alpha', host: '10.0.0.1', port: 7001, patterns: ['*'], healthy: true },
      { name: 'zeta', host: '10.0.0.2', port: 7002, patterns: ['vk.com'], healthy: false },
    ]);
  });

  it('finds a person\'s queued row of a link, and only a queued one', async () => {
    const queued = await db.link.create({ data: { url: 'https://example.com/q', host: 'example.com', chatId: 1n, userId: 2n, quality: '720', sendAt: past() } });
    await db.link.create({ data: { url: 'https://example.com/f', host: 'example.com', chatId: 1n, userId: 2n, quality: '720', sendAt: past(), status: 'failed' } });
    expect(await store.findQueued(2n, 'https://example.com/q')).toBe(queued.id);
    expect(await store.findQueued(3n, 'https://example.com/q')).toBeNull();
    expect(await store.findQueued(2n, 'https://example.com/f')).toBeNull();
  });

  it('takes over a claim whose lease ran out', async () => {
    await addLinks(1, { claimOwner: 'crashed', claimExpiresAt: new Date(Date.now() - 1) });
    const [link] = await claim('me', 10, 30_000);
    expect(link).toBeDefined();
    expect((await db.link.findUniqueOrThrow({ where: { id: link!.id } })).claimOwner).toBe('me');
  });

  it('renews a claim only for its owner: a replica whose lease was taken over must not call', async () => {
    await addLinks(2);
    const [link, kept] = await claim('slow', 10, 1);
    // The first one's lease ran out and another replica took the link.
    await db.link.update({ where: { id: link!.id }, data: { claimExpiresAt: new Date(Date.now() - 1) } });
    const [taken] = await claim('fast', 1, 30_000);
    expect(taken!.id).toBe(link!.id);
    expect(await store.renew([link!.id, kept!.id], 'slow', 30_000)).toEqual(new Set([kept!.id]));
    expect(await store.renew([link!.id], 'fast', 60_000)).toEqual(new Set([link!.id]));
    expect(await store.renew([], 'fast', 60_000)).toEqual(new Set());
    const row = await db.link.findUniqueOrThrow({ where: { id: link!.id } });
    expect(row.claimOwner).toBe('fast');
    expect(row.claimExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 50_000);
  });

  it('never gives one link to two claimers racing for 600 links', async () => {
    await addLinks(600);
    const owners = Array.from({ length: 8 }, (_, i) => `owner-${i}`);
    const taken = new Map<number, string>();
    await Promise.all(
      owners.map(async (owner) => {
        for (;;) {
          const batch = await claim(owner, 25, 30_000);
          if (batch.length === 0) return;
          for (const link of batch) {
            expect(taken.get(link.id)).toBeUndefined();
            taken.set(link.id, owner);
          }
        }
      }),
    );
    expect(taken.size).toBe(600);
    expect(new Set(taken.values()).size).toBeGreaterThan(1);
  });

  it('records a hand-over only for the claim owner, with a history row, its result in the outbox and the latest message ids', async () => {
    await addLinks(1);
    const [link] = await claim('me', 1, 30_000);
    // The gateway records its reply after the claim.
    await db.link.update({ where: { id: link!.id }, data: { replyMessageId: 77 } });
    const [settled] = await store.completeMany([{ link: link!, downloader: 'nas', told: told(link!.id) }], 'me');
    expect(settled!.messages).toEqual({ replyMessageId: 77, messageId: null });
    // The result as the outbox holds it: the reply id the row held when it was settled.
    expect(settled!.told).toMatchObject({ eventId: `dispatch.result:${link!.id}:1`, type: 'dispatch.result', version: 1 });
    expect(JSON.parse(settled!.told.data)).toEqual({ linkId: link!.id, ok: true, messageId: null, replyMessageId: 77 });
    expect(await outbox()).toEqual([{ eventId: settled!.told.eventId, data: JSON.parse(settled!.told.data) }]);
    expect(await db.link.count()).toBe(0);
    const [history] = await db.dispatch.findMany();
    expect(history).toMatchObject({ linkId: link!.id, downloader: 'nas', attempts: 1, userId: 9_007_199_254_740_993n, url: link!.url });

    // A row that is gone: the history and the result are still written (as claimed), and null says so.
    const [gone] = await store.completeMany([{ link: link!, downloader: 'nas', told: told(link!.id, { replyMessageId: 5 }) }], 'me');
    expect(gone!.messages).toBeNull();
    expect(JSON.parse(gone!.told.data)).toMatchObject({ replyMessageId: 5 });
    expect(await db.dispatch.count()).toBe(2);
    expect(await db.outboxEvent.count()).toBe(2);
  });

  it('records many hand-overs in one go: each its own downloader and message ids, nothing for rows not its own', async () => {
    await addLinks(3);
    const [a, b, c] = await claim('me', 3, 30_000);
    await db.link.update({ where: { id: b!.id }, data: { messageId: 5 } });
    // c's lease ran out and another replica took it: not deleted here, but the call was made, so history says so.
    await db.link.update({ where: { id: c!.id }, data: { claimOwner: 'other' } });
    const settled = await store.completeMany([{ link: a!, downloader: 'nas', told: told(a!.id) }, { link: b!, downloader: 'box', told: told(b!.id) }, { link: c!, downloader: 'nas', told: told(c!.id) }], 'me');
    expect(settled.map((s) => s.messages)).toEqual([{ replyMessageId: null, messageId: null }, { replyMessageId: null, messageId: 5 }, null]);
    // Each result in the outbox with its own row's ids, in the same statement.
    expect(settled.map((s) => [s.told.eventId, JSON.parse(s.told.data).messageId])).toEqual([[`dispatch.result:${a!.id}:1`, null], [`dispatch.result:${b!.id}:1`, 5], [`dispatch.result:${c!.id}:1`, null]]);
    expect(await db.outboxEvent.count()).toBe(3);
    expect((await db.link.findMany()).map((l) => l.id)).toEqual([c!.id]);
    const history = await db.dispatch.findMany({ orderBy: { linkId: 'asc' } });
    expect(history.map((h) => [h.linkId, h.downloader, h.attempts, h.messageId])).toEqual([[a!.id, 'nas', 1, null], [b!.id, 'box', 1, 5], [c!.id, 'nas', 1, null]]);
    expect(await store.completeMany([], 'me')).toEqual([]);
  });

  it('records a failure (retry or failed) and lets go of the claim, only for its owner', async () => {
    await addLinks(2);
    const [a, b] = await claim('me', 2, 30_000);
    const next = new Date(Date.now() + 30_000);
    const firstFailedAt = new Date(Date.now() - 5_000);
    const kept = { firstFailedAt, unconfirmedDownloader: null };
    expect(await store.recordFailure(a!, 'someone-else', { attempts: 1, lastError: 'x', nextAttemptAt: next, ...kept }, told(a!.id))).toBeNull();
    // Not its owner: nothing written, nobody told.
    expect(await db.outboxEvent.count()).toBe(0);
    await db.link.update({ where: { id: a!.id }, data: { replyMessageId: 12 } });
    const failedA = await store.recordFailure(a!, 'me', { attempts: 1, lastError: 'down', kind: 'unavailable', nextAttemptAt: next, firstFailedAt, unconfirmedDownloader: 'nas' }, told(a!.id, { ok: false }));
    expect(failedA!.messages).toEqual({ replyMessageId: 12, messageId: null });
    expect(JSON.parse(failedA!.told.data)).toEqual({ linkId: a!.id, ok: false, messageId: null, replyMessageId: 12 });
    expect(await store.recordFailure(b!, 'me', { attempts: 3, lastError: 'refused', kind: 'refused', reason: 'unsupported site', nextAttemptAt: null, ...kept }, told(b!.id, { ok: false }))).not.toBeNull();
    expect((await outbox()).map((e) => e.eventId)).toEqual([`dispatch.result:${a!.id}:1`, `dispatch.result:${b!.id}:1`]);
    const rowA = await db.link.findUniqueOrThrow({ where: { id: a!.id } });
    expect(rowA).toMatchObject({ attempts: 1, lastError: 'down', lastErrorKind: 'unavailable', lastErrorReason: null, status: 'queued', claimOwner: null, claimExpiresAt: null, sendAt: next, firstFailedAt, unconfirmedDownloader: 'nas' });
    const rowB = await db.link.findUniqueOrThrow({ where: { id: b!.id } });
    expect(rowB).toMatchObject({ attempts: 3, lastError: 'refused', lastErrorKind: 'refused', lastErrorReason: 'unsupported site', status: 'failed', claimOwner: null, sendAt: b!.sendAt, firstFailedAt, unconfirmedDownloader: null });
    // A claim hands both back for the next try.
    await db.link.update({ where: { id: a!.id }, data: { sendAt: new Date(Date.now() - 1000) } });
    const [again] = await claim('me', 1, 30_000);
    expect(again).toMatchObject({ id: a!.id, attempts: 1, firstFailedAt, unconfirmedDownloader: 'nas' });
  });

  it('releases claims of its owner only', async () => {
    await addLinks(3);
    const claimed = await claim('me', 3, 30_000);
    expect(await store.release([claimed[0]!.id], 'other')).toBe(0);
    expect(await store.release([claimed[0]!.id], 'me')).toBe(1);
    expect(await store.releaseAll('me')).toBe(2);
    expect(await db.link.count({ where: { claimOwner: { not: null } } })).toBe(0);
  });

  it('reads the pause flag and counts due links', async () => {
    expect(await store.isPaused()).toBe(false);
    await db.setting.create({ data: { key: 'dispatch.paused', value: true } });
    expect(await store.isPaused()).toBe(true);
    await db.setting.update({ where: { key: 'dispatch.paused' }, data: { value: false } });
    expect(await store.isPaused()).toBe(false);
    await addLinks(3);
    await addLinks(1, { sendAt: new Date(Date.now() + 60_000) });
    expect(await store.countDue()).toBe(3);
  });

  it('writes an urgent link down once, with its result for its new id, and its history once, with its result', async () => {
    const link: UrgentLink = {
      eventId: 'evt-1', url: 'https://vk.com/v', host: 'vk.com', userId: 5n, chatId: 5n, username: 'ann', quality: 'max', folder: 'Films', messageId: 3, replyMessageId: null,
    };
    const row = { sendAt: new Date(), attempts: 1, lastError: 'down', failed: false };
    const first = await store.writeDownUrgent(link, row, (id) => told(id, { ok: false }));
    expect(first).toMatchObject({ created: true, told: { eventId: `dispatch.result:${first.id}:1` } });
    expect(JSON.parse(first.told!.data)).toMatchObject({ linkId: first.id });
    expect(await store.writeDownUrgent(link, row, (id) => told(id))).toEqual({ id: first.id, created: false, told: null });
    expect(await db.outboxEvent.count()).toBe(1);
    expect(await store.findUrgent('evt-1')).toBe(first.id);
    expect(await db.link.findUniqueOrThrow({ where: { id: first.id } })).toMatchObject({ urgentEventId: 'evt-1', attempts: 1, folder: 'Films', messageId: 3, status: 'queued' });
    // Paused: written down with nothing to tell.
    expect(await store.writeDownUrgent({ ...link, eventId: 'evt-3', url: 'https://vk.com/p' }, row, null)).toMatchObject({ created: true, told: null });
    expect(await db.outboxEvent.count()).toBe(1);

    const acceptedAt = new Date();
    const result: OutboxEntry = { eventId: 'dispatch.result:urgent:evt-2', type: 'dispatch.result', version: 1, data: '{"ok":true}' };
    expect(await store.recordUrgentDispatch({ ...link, eventId: 'evt-2', url: 'https://vk.com/w' }, 'nas', acceptedAt, 1, result)).toMatchObject({ eventId: 'dispatch.result:urgent:evt-2', data: '{"ok":true}' });
    // A second delivery: its history and result were written by the first.
    expect(await store.recordUrgentDispatch({ ...link, eventId: 'evt-2', url: 'https://vk.com/w' }, 'nas', acceptedAt, 1, result)).toBeNull();
    expect(await db.dispatch.count({ where: { url: 'https://vk.com/w' } })).toBe(1);
    expect(await db.outboxEvent.count({ where: { eventId: 'dispatch.result:urgent:evt-2' } })).toBe(1);
  });
});
