import pg from 'pg';
import { connectDatabase, type Database } from '@dwld/db';
import { createTestDatabase, waitFor, type TestDatabase } from '@dwld/testkit';
import { LinkQueue, type NewLink } from './link-queue';

const sendAt = new Date('2026-11-27T12:00:00.000Z');

function newLink(userId: number, url: string, extra: Partial<NewLink> = {}): NewLink {
  return { url, host: new URL(url).host, userId: String(userId), chatId: String(userId), username: `u${userId}`, ownerName: `User ${userId}`, quality: '720', folder: null, messageId: userId * 10, sendAt, ...extra };
}

describe('LinkQueue.add with many people at once (one INSERT per batch)', () => {
  let database: TestDatabase;
  let db: Database;
  let store: LinkQueue;

  beforeAll(async () => {
    database = await createTestDatabase();
    const access = connectDatabase(database.url, { poolSize: 3 });
    db = access.db;
    store = new LinkQueue(db, access.sql);
  });
  afterAll(async () => {
    await db.$disconnect();
    await database.drop();
  });
  beforeEach(async () => {
    await db.dispatch.deleteMany();
    await db.link.deleteMany();
  });

  it('gives each of many concurrent adds its own row, with every field stored', async () => {
    const wanted = Array.from({ length: 250 }, (_, i) => newLink(1000 + i, `https://example.com/v/${i}`, { folder: i % 2 ? 'music' : null, username: i % 3 ? `u${i}` : null, ownerName: i % 4 ? `Name ${i}` : null }));
    const outcomes = await Promise.all(wanted.map((link) => store.add(link)));
    expect(await db.link.count()).toBe(250);
    outcomes.forEach((outcome, i) => {
      const link = wanted[i]!;
      if (!outcome.created) throw new Error(`link ${i} not created: ${JSON.stringify(outcome, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
      expect(outcome.link).toMatchObject({ url: link.url, host: link.host, userId: BigInt(link.userId), chatId: BigInt(link.chatId), username: link.username, ownerName: link.ownerName, folder: link.folder, quality: '720', messageId: link.messageId, sendAt, status: 'queued' });
    });
    expect(new Set(outcomes.map((o) => (o.created ? o.link.id : -1))).size).toBe(250);
  });

  it('creates one row when the same person adds the same link twice at once; the other is told it exists', async () => {
    const url = 'https://example.com/v/twice';
    const [a, b, other] = await Promise.all([store.add(newLink(7, url)), store.add(newLink(7, url, { messageId: 71 })), store.add(newLink(8, url))]);
    const created = [a, b].filter((o) => o.created);
    expect(created).toHaveLength(1);
    const existing = [a, b].find((o) => !o.created);
    expect(existing).toEqual({ created: false, existing: (created[0] as { link: unknown }).link });
    expect(other.created).toBe(true);
    expect(await db.link.count()).toBe(2);
  });

  it('tells a redelivered message that its link was handed over, while the rest of the batch is stored', async () => {
    const url = 'https://example.com/v/gone';
    await db.dispatch.create({ data: { linkId: 1, url, host: 'example.com', userId: 5n, chatId: 5n, downloader: 'nas', quality: '720', messageId: 50, attempts: 1, sendAt } });
    const [again, fresh] = await Promise.all([store.add(newLink(5, url)), store.add(newLink(6, url))]);
    expect(again).toEqual({ created: false, handedOver: 'nas' });
    expect(fresh.created).toBe(true);
    expect((await db.link.findMany()).map((l) => l.userId)).toEqual([6n]);
  });

  it('tells a redelivered message its link was handed over when the dispatch commits while the insert waits on the row (no second row)', async () => {
    const first = await store.add(newLink(7, 'https://example.com/racing'));
    if (!first.created) throw new Error('not created');
    // The scheduler's hand-over, held open: the row deleted and the dispatch written, not committed yet.
    const scheduler = new pg.Client({ connectionString: database.url });
    await scheduler.connect();
    try {
      await scheduler.query('BEGIN');
      await scheduler.query('DELETE FROM links WHERE id = $1', [first.link.id]);
      await scheduler.query(
        `INSERT INTO dispatches (link_id, url, host, user_id, chat_id, downloader, quality, message_id, attempts, send_at) VALUES ($1, $2, 'example.com', 7, 7, 'nas', '720', 70, 1, now())`,
        [first.link.id, 'https://example.com/racing'],
      );
      // The same message again (Telegram redelivering it after a crash): its insert waits on the unique index.
      const again = store.add(newLink(7, 'https://example.com/racing'));
      await waitFor(async () => {
        const { rows } = await scheduler.query<{ waiting: number }>(`SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        return rows[0]!.waiting > 0;
      }, { what: 'the insert to wait on the row being handed over' });
      await scheduler.query('COMMIT');
      expect(await again).toEqual({ created: false, handedOver: 'nas' });
      expect(await db.link.count({ where: { url: 'https://example.com/racing' } })).toBe(0);
    } finally {
      await scheduler.end();
    }
  });

  it('gives the row to the message that made it when a redelivered message of the same link shares its batch', async () => {
    const url = 'https://example.com/v/again-and-new';
    await db.dispatch.create({ data: { linkId: 2, url, host: 'example.com', userId: 9n, chatId: 9n, downloader: 'nas', quality: '720', messageId: 90, attempts: 1, sendAt } });
    const [redelivered, fresh] = await Promise.all([store.add(newLink(9, url)), store.add(newLink(9, url, { messageId: 91 }))]);
    expect(redelivered).toEqual({ created: false, handedOver: 'nas' });
    if (!fresh.created) throw new Error('the new message was not queued');
    expect(fresh.link.messageId).toBe(91);
    expect(await db.link.count()).toBe(1);
  });

  it('stores links that come without a message (POST /links) in one batch too', async () => {
    const outcomes = await Promise.all([1, 2, 3].map((i) => store.add(newLink(20 + i, `https://example.com/api/${i}`, { messageId: null }))));
    expect(outcomes.map((o) => o.created)).toEqual([true, true, true]);
    expect((await db.link.findMany({ orderBy: { userId: 'asc' } })).map((l) => [l.userId, l.messageId])).toEqual([[21n, null], [22n, null], [23n, null]]);
  });

  it('keeps a bad link from failing the others of its batch: only it gets the error', async () => {
    const results = await Promise.allSettled([store.add(newLink(1, 'https://example.com/v/a')), store.add(newLink(2, 'https://example.com/v/b', { chatId: 'not-a-number' })), store.add(newLink(3, 'https://example.com/v/c'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(((results[1] as PromiseRejectedResult).reason as Error).message).toMatch(/bigint|invalid input/i);
    expect((await db.link.findMany({ orderBy: { userId: 'asc' } })).map((l) => l.userId)).toEqual([1n, 3n]);
  });

  it('records the "queued" reply\'s message id on the link, and says when the link is gone', async () => {
    const outcome = await store.add(newLink(30, 'https://example.com/v/reply'));
    if (!outcome.created) throw new Error('not created');
    const before = outcome.link.updatedAt;
    expect(await store.setReplyMessageId(outcome.link.id, 555)).toBe(true);
    const row = await db.link.findUniqueOrThrow({ where: { id: outcome.link.id } });
    expect(row.replyMessageId).toBe(555);
    expect(row.updatedAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
    await db.link.delete({ where: { id: outcome.link.id } });
    expect(await store.setReplyMessageId(outcome.link.id, 556)).toBe(false);
  });
});
