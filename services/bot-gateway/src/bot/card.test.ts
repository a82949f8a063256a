import { connectDatabase, type Database } from '@dwld/db';
import { createTestDatabase, type TestDatabase } from '@dwld/testkit';
import { DispatchPauseState } from '../dispatch-pause';
import { UserStore } from '../store/users';
import { textsFor } from '../texts';
import { drawCard, type CardDeps } from './card';

describe('drawCard, the one place a link card is drawn', () => {
  const now = new Date('2026-11-27T12:00:00.000Z');
  let database: TestDatabase;
  let db: Database;
  let deps: CardDeps & { pause: DispatchPauseState };

  beforeAll(async () => {
    database = await createTestDatabase();
    db = connectDatabase(database.url, { poolSize: 2 }).db;
    deps = { config: { QUALITY_OPTIONS: ['720', '1080'], FOLDERS: ['Music'], DEFAULT_LANGUAGE: 'en' }, users: new UserStore(db), pause: new DispatchPauseState(db, 0), clock: () => now };
  });
  afterAll(async () => {
    await db.$disconnect();
    await database.drop();
  });

  function link(data: { userId: bigint; status?: 'queued' | 'failed'; attempts?: number }) {
    const url = `https://example.com/card-${data.userId}-${data.status ?? 'queued'}`;
    return db.link.create({ data: { url, host: 'example.com', chatId: data.userId, username: null, quality: '1080', folder: 'Music', sendAt: new Date(now.getTime() + 45_000), ...data } });
  }

  it('draws a waiting link from its row, the clock and the pause switch, in its owner\'s words', async () => {
    await db.user.create({ data: { telegramId: 7n, language: 'ru' } });
    const waiting = await link({ userId: 7n });
    const ru = await drawCard(deps, waiting);
    expect(ru.paused).toBe(false);
    expect(ru.card.text.split('\n')).toEqual(['📥 <b>В очереди</b>: https://example.com/card-7-queued', 'Качество: <b>1080</b>', 'Папка: <b>Music</b>', 'Отправка через 45 с (12:00:45 UTC)']);
    expect(ru.card.markup!.inline_keyboard.map((row) => row.map((b) => b.text))).toEqual([['720', '✓ 1080'], ['✓ Music'], ['✖ Удалить']]);
    // The words of whoever it is drawn for, when the caller has them.
    expect((await drawCard(deps, waiting, { texts: textsFor('en') })).card.text).toContain('📥 <b>Queued</b>');

    await deps.pause.set(true);
    const paused = await drawCard(deps, waiting, { texts: textsFor('en') });
    expect(paused.paused).toBe(true);
    expect(paused.card.text).toContain('⏸ <b>Paused</b>');
    expect(paused.card.text).toContain('Dispatching is paused');
    await deps.pause.set(false);
  });

  it('offers only "try again" and "remove" on a link given up, and nothing on a removed one', async () => {
    const failed = await link({ userId: 8n, status: 'failed', attempts: 5 });
    const { card } = await drawCard(deps, failed);
    expect(card.text).toContain('❌ <b>Not downloaded</b>');
    expect(card.markup!.inline_keyboard.map((row) => row.map((b) => b.text))).toEqual([['↻ Try again', '✖ Remove']]);
    expect(await drawCard(deps, failed, { removed: true })).toEqual({ card: { text: '🗑 <b>Removed</b>: https://example.com/card-8-failed' }, paused: false });
  });
});
