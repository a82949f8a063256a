import { connectDatabase } from '@dwld/db';
import { dispatchResult, EventPublisher, linkAdded, linkUrgent, qualitySet } from '@dwld/events';
import type { TelegramEmulator } from '@dwld/telegram-emulator';
import { Agent } from 'node:http';
import { freePort, requestOn, waitFor } from '@dwld/testkit';
import type { Database } from '@dwld/db';
import { ADMIN, ALICE, API_TOKEN, BOB, startHarness, type Harness } from './testing/harness';

const STRANGER = 999;

describe('bot gateway against the Bot API emulator (real HTTP, PostgreSQL, Redis)', () => {
  let h: Harness;
  let emulator: TelegramEmulator;
  let db: Database;
  let httpPort: number;
  beforeAll(async () => {
    h = await startHarness();
    ({ emulator, db, httpPort } = h);
  });
  afterAll(() => h.stop());
  const streamEvents = (type: string) => h.events(type);

  it('says "access denied" with the id to a stranger, offers the contact button, and stores nothing', async () => {
    const stranger = emulator.user({ id: STRANGER, firstName: 'Eve' });
    await stranger.sendText('https://youtube.com/watch?v=x');
    const reply = await emulator.nextBotMessage(STRANGER);
    expect(reply.text).toContain('Access denied');
    expect(reply.text).toContain(String(STRANGER));
    expect(JSON.stringify(stranger.replyKeyboard())).toContain('request_contact');
    expect(await db.link.count()).toBe(0);
    expect(await db.user.count({ where: { telegramId: BigInt(STRANGER) } })).toBe(0);
  });

  it('refuses a forwarded contact card and a phone not on the list, and lets in the owner of a listed phone', async () => {
    const carol = emulator.user({ id: 300, firstName: 'Carol' });
    await carol.sendContact({ phoneNumber: '+79000000001', userId: 301 });
    expect((await emulator.nextBotMessage(300)).text).toContain('not yours');
    await carol.sendContact({ phoneNumber: '+79000000002' });
    expect((await emulator.nextBotMessage(300)).text).toContain('not on the list');
    expect(await db.user.count({ where: { telegramId: 300n } })).toBe(0);

    await carol.sendContact({ phoneNumber: '+7 (900) 000-00-01' });
    expect((await emulator.nextBotMessage(300)).text).toContain('You are in');
    expect(await db.user.findUnique({ where: { telegramId: 300n } })).toMatchObject({ authorised: true });

    await carol.sendText('https://vimeo.com/1');
    expect((await emulator.nextBotMessage(300)).text).toContain('Queued');
    await carol.sendText('/logout');
    expect((await emulator.nextBotMessage(300)).text).toContain('logged out');
    await carol.sendText('https://vimeo.com/2');
    expect((await emulator.nextBotMessage(300)).text).toContain('Access denied');
    expect(await db.link.count({ where: { userId: 300n } })).toBe(1);
  });

  it('queues a link with a reply showing quality, folder and send time, a keyboard, and a link.added event', async () => {
    const alice = emulator.user({ id: ALICE, username: 'alice' });
    const sent = await alice.sendText('look https://www.youtube.com/watch?v=abc_1&t=2 please');
    const reply = await emulator.nextBotMessage(ALICE);
    expect(reply.text).toContain('https://www.youtube.com/watch?v=abc_1&t=2');
    expect(reply.text).toContain('Quality: 1080');
    expect(reply.text).toContain('Folder: —');
    expect(reply.text).toMatch(/Sending in (60|59) s/);
    const buttons = (reply.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> }).inline_keyboard.flat();
    expect(buttons.map((b) => b.text)).toEqual(expect.arrayContaining(['720', '✓ 1080', 'max', 'Music', 'Films', '✖ Remove']));
    for (const b of buttons) expect(Buffer.byteLength(b.callback_data)).toBeLessThanOrEqual(64);
    expect(buttons.some((b) => b.callback_data.includes('youtube'))).toBe(false);

    const link = await db.link.findFirstOrThrow({ where: { userId: BigInt(ALICE), url: 'https://www.youtube.com/watch?v=abc_1&t=2' } });
    expect(link).toMatchObject({ host: 'www.youtube.com', quality: '1080', folder: null, username: 'alice', messageId: sent.message_id });
    expect(link.sendAt.getTime() - link.createdAt.getTime()).toBeGreaterThanOrEqual(59_000);
    await waitFor(async () => (await db.link.findUniqueOrThrow({ where: { id: link.id } })).replyMessageId === reply.message_id);
    expect(await streamEvents(linkAdded.type)).toContainEqual(expect.objectContaining({ linkId: link.id, url: link.url, userId: String(ALICE), quality: '1080' }));
  });

  it.each([
    ['javascript:alert(1)', 'Only http and https'],
    ['ftp://files.example.com/a.mp4', 'Only http and https'],
    ['https://user:secret@example.com/v', 'user name or password'],
    ['http://localhost:8080/admin', 'local or private'],
    ['http://192.168.1.10/video', 'local or private'],
    ['http://[::1]/video', 'local or private'],
    [`https://example.com/${'a'.repeat(2100)}`, 'too long'],
  ])('rejects case %# with a clear reply and stores nothing', async (link, words) => {
    const before = await db.link.count();
    await emulator.user({ id: BOB }).sendText(link);
    expect((await emulator.nextBotMessage(BOB)).text).toContain(words);
    expect(await db.link.count()).toBe(before);
  });

  it('does not queue the same link twice for one user', async () => {
    const bob = emulator.user({ id: BOB });
    await bob.sendText('https://vimeo.com/42');
    expect((await emulator.nextBotMessage(BOB)).text).toContain('Queued');
    await bob.sendText('https://vimeo.com/42');
    expect((await emulator.nextBotMessage(BOB)).text).toContain('already in your queue');
    expect(await db.link.count({ where: { userId: BigInt(BOB), url: 'https://vimeo.com/42' } })).toBe(1);
  });

  it('changes quality and folder before dispatch, refuses after it, and refuses other people and forged data', async () => {
    const alice = emulator.user({ id: ALICE });
    await alice.sendText('https://vk.com/video1');
    const reply = await emulator.nextBotMessage(ALICE);
    const link = await db.link.findFirstOrThrow({ where: { userId: BigInt(ALICE), url: 'https://vk.com/video1' } });
    const data = (label: string) =>
      (reply.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> }).inline_keyboard.flat().find((b) => b.text === label)!.callback_data;

    const pressed = await alice.pressButton(reply.message_id, data('720'));
    expect((await pressed.answer()).text).toContain('720');
    expect(await db.link.findUniqueOrThrow({ where: { id: link.id } })).toMatchObject({ quality: '720' });
    await waitFor(() => emulator.user({ id: ALICE }).messages().find((m) => m.message_id === reply.message_id)?.text?.includes('Quality: 720'));
    expect(await streamEvents(qualitySet.type)).toContainEqual(expect.objectContaining({ linkId: link.id, quality: '720' }));

    await (await alice.pressButton(reply.message_id, data('Films'))).answer();
    expect(await db.link.findUniqueOrThrow({ where: { id: link.id } })).toMatchObject({ folder: 'Films', quality: '720' });

    // Bob presses a button of Alice's link (forged onto his own chat's view of it).
    const bobPress = await emulator.user({ id: BOB }).forgedCallback(reply.message_id, data('1440'));
    expect((await bobPress.answer()).text).toContain('not your link');
    const forged = await alice.forgedCallback(reply.message_id, 'q:abc:zzz');
    expect((await forged.answer()).text).toContain('no longer valid');
    expect(await db.link.findUniqueOrThrow({ where: { id: link.id } })).toMatchObject({ quality: '720', folder: 'Films' });

    // Dispatched: the scheduler deleted the row.
    await db.link.delete({ where: { id: link.id } });
    const late = await alice.pressButton(reply.message_id, data('max'));
    expect((await late.answer()).text).toContain('already been sent');
  });

  it('shows each user only their own /queue, and the admin everybody’s grouped by user', async () => {
    await emulator.user({ id: ALICE }).sendText('https://rutube.ru/a1');
    await emulator.nextBotMessage(ALICE);
    await emulator.user({ id: BOB }).sendText('https://rutube.ru/b1');
    await emulator.nextBotMessage(BOB);

    await emulator.user({ id: ALICE }).sendText('/queue');
    const aliceQueue = (await emulator.nextBotMessage(ALICE)).text ?? '';
    expect(aliceQueue).toContain('https://rutube.ru/a1');
    expect(aliceQueue).not.toContain('https://rutube.ru/b1');

    await emulator.user({ id: ADMIN }).sendText('/queue');
    const adminQueue = (await emulator.nextBotMessage(ADMIN, (m) => (m.text ?? '').includes('Queue'))).text ?? '';
    expect(adminQueue).toContain('https://rutube.ru/a1');
    expect(adminQueue).toContain('https://rutube.ru/b1');
    expect(adminQueue).toContain('@alice');
  });

  it('removes a link with /remove, only one’s own', async () => {
    await emulator.user({ id: BOB }).sendText('https://rutube.ru/b2');
    await emulator.nextBotMessage(BOB);
    await emulator.user({ id: ALICE }).sendText('/remove https://rutube.ru/b2');
    expect((await emulator.nextBotMessage(ALICE)).text).toContain('No queued link');
    expect(await db.link.count({ where: { url: 'https://rutube.ru/b2' } })).toBe(1);
    await emulator.user({ id: BOB }).sendText('/remove https://rutube.ru/b2');
    expect((await emulator.nextBotMessage(BOB)).text).toContain('Removed');
    expect(await db.link.count({ where: { url: 'https://rutube.ru/b2' } })).toBe(0);
  });

  it('refuses admin commands to users and runs them for admins', async () => {
    await emulator.user({ id: BOB }).sendText('/pooloff');
    expect((await emulator.nextBotMessage(BOB)).text).toContain('for administrators');
    expect(await db.setting.count()).toBe(0);
    await emulator.user({ id: ADMIN }).sendText('/pooloff');
    expect((await emulator.nextBotMessage(ADMIN, (m) => (m.text ?? '').includes('paused'))).text).toContain('paused');
    expect(await db.setting.findUnique({ where: { key: 'dispatch.paused' } })).toMatchObject({ value: true });
    await emulator.user({ id: ADMIN }).sendText('/poolon');
    await emulator.nextBotMessage(ADMIN, (m) => (m.text ?? '').includes('resumed'));
    expect(await db.setting.findUnique({ where: { key: 'dispatch.paused' } })).toMatchObject({ value: false });
  });

  it('gives admins /links: every queued link, one per line, nothing else', async () => {
    await emulator.user({ id: ADMIN }).sendText('/links');
    const list = await emulator.nextBotMessage(ADMIN, (m) => (m.text ?? '').startsWith('https://'));
    const lines = (list.text ?? '').split('\n');
    const urls = (await db.link.findMany({ orderBy: [{ userId: 'asc' }, { id: 'asc' }] })).map((l) => l.url);
    expect(lines).toEqual(urls);
  });

  it('waits out a 429 answer for retry_after and delivers the reply exactly once', async () => {
    emulator.failNext('sendMessage', { errorCode: 429, retryAfter: 1 });
    await emulator.user({ id: BOB }).sendText('https://vimeo.com/429');
    const reply = await emulator.nextBotMessage(BOB, (m) => (m.text ?? '').includes('vimeo.com/429'), 15_000);
    expect(reply.text).toContain('Queued');
    const sends = emulator.calls().filter((c) => c.method === 'sendMessage' && String((c.params as { text?: string }).text).includes('vimeo.com/429'));
    expect(sends.map((c) => (c.response as { ok: boolean }).ok)).toEqual([false, true]);
  });

  it('splits a long /queue under 4096 characters per message', async () => {
    const now = Date.now();
    await db.link.createMany({
      data: Array.from({ length: 60 }, (_, i) => ({
        url: `https://example.com/${'long-path-segment/'.repeat(8)}${i}?q=<b>&x=_y_`,
        host: 'example.com',
        chatId: BigInt(BOB),
        userId: BigInt(BOB),
        quality: '720',
        sendAt: new Date(now + 60_000),
      })),
    });
    const before = emulator.user({ id: BOB }).botMessages().length;
    await emulator.user({ id: BOB }).sendText('/queue');
    await waitFor(() => emulator.user({ id: BOB }).botMessages().slice(before).some((m) => m.reply_markup));
    const parts = emulator.user({ id: BOB }).botMessages().slice(before);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect((part.text ?? '').length).toBeLessThanOrEqual(4096);
    const all = parts.map((p) => p.text).join('\n');
    for (let i = 0; i < 60; i++) expect(all).toContain(`${'long-path-segment/'.repeat(8)}${i}?q=<b>&x=_y_`);
  });

  it('after a successful dispatch deletes the person’s message and the reply and says who took it', async () => {
    const alice = emulator.user({ id: ALICE });
    const sent = await alice.sendText('https://youtu.be/done1');
    const reply = await emulator.nextBotMessage(ALICE);
    const link = await db.link.findFirstOrThrow({ where: { url: 'https://youtu.be/done1' } });
    await db.link.delete({ where: { id: link.id } });
    const publisher = new EventPublisher({ redis: h.ns.redis, prefix: h.ns.prefix });
    await publisher.publish(dispatchResult, {
      linkId: link.id, urgentEventId: null, url: link.url, userId: String(ALICE), chatId: String(ALICE), messageId: sent.message_id, replyMessageId: reply.message_id,
      ok: true, downloader: 'home-nas', error: null, attempts: 1, nextAttemptAt: null, failed: false,
    });
    const told = await emulator.nextBotMessage(ALICE, (m) => (m.text ?? '').includes('home-nas'));
    expect(told.text).toContain('https://youtu.be/done1');
    await waitFor(() => !alice.messages().some((m) => m.message_id === sent.message_id || m.message_id === reply.message_id));
  });

  it('takes links over POST /links with the bearer token, validated like chat input', async () => {
    const url = `http://127.0.0.1:${httpPort}/links`;
    const body = JSON.stringify({ links: [{ link: 'https://vimeo.com/api1', quality: 720, folder: 'Music' }, { link: 'file:///etc/passwd' }] });
    expect((await fetch(url, { method: 'POST', body })).status).toBe(401);
    expect((await fetch(url, { method: 'POST', body, headers: { authorization: 'Bearer wrong-token-0000000' } })).status).toBe(401);
    const res = await fetch(url, { method: 'POST', body, headers: { authorization: `Bearer ${API_TOKEN}` } });
    expect(res.status).toBe(207);
    const { results } = (await res.json()) as { results: Array<Record<string, unknown>> };
    expect(results[0]).toMatchObject({ status: 'queued', url: 'https://vimeo.com/api1', quality: '720', folder: 'Music' });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: 'scheme' });
    expect(await db.link.findFirst({ where: { url: 'https://vimeo.com/api1' } })).toMatchObject({ userId: BigInt(ADMIN), quality: '720', folder: 'Music' });
    expect(await db.link.count({ where: { url: { startsWith: 'file:' } } })).toBe(0);
  });

  it('answers a POST /links body over 1 MiB with 413, stores nothing, and closes the connection so the next request gets through at once', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = (body: string) => requestOn(agent, { port: httpPort, method: 'POST', path: '/links', headers: { authorization: `Bearer ${API_TOKEN}` }, body });
    try {
      const huge = JSON.stringify({ links: [{ link: 'https://vimeo.com/too-big', folder: 'x'.repeat(2 * 1024 * 1024) }] });
      const refused = await post(huge);
      expect(refused).toMatchObject({ status: 413, headers: expect.objectContaining({ connection: 'close' }) });
      expect(JSON.parse(refused.body)).toEqual({ error: 'the body is larger than 1 MiB' });
      expect(await db.link.count({ where: { url: 'https://vimeo.com/too-big' } })).toBe(0);
      // On a new connection (the refused one is closed), answered.
      const next = await post(JSON.stringify({ links: [{ link: 'https://vimeo.com/after-too-big' }] }));
      expect(next).toMatchObject({ status: 200, reused: false });
      expect(await db.link.count({ where: { url: 'https://vimeo.com/after-too-big' } })).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('answers POST /link (the Go bot\'s address) exactly as POST /links, taking the Go body with its empty folder', async () => {
    const url = `http://127.0.0.1:${httpPort}/link`;
    const goBody = JSON.stringify({ links: [{ link: 'https://vimeo.com/go1', folder: '' }, { link: 'https://vimeo.com/go2', folder: 'Music' }, { link: 'ftp://x/y', folder: '' }] });
    expect((await fetch(url, { method: 'POST', body: goBody })).status).toBe(401);
    expect(await db.link.count({ where: { url: { startsWith: 'https://vimeo.com/go' } } })).toBe(0);
    const res = await fetch(url, { method: 'POST', body: goBody, headers: { authorization: `Bearer ${API_TOKEN}` } });
    expect(res.status).toBe(207);
    const { results } = (await res.json()) as { results: Array<Record<string, unknown>> };
    expect(results).toEqual([
      // No quality: max (10000), what the Go bot's endpoint always sent.
      expect.objectContaining({ status: 'queued', url: 'https://vimeo.com/go1', quality: 'max', folder: null }),
      expect.objectContaining({ status: 'queued', url: 'https://vimeo.com/go2', folder: 'Music' }),
      expect.objectContaining({ status: 'rejected', reason: 'scheme' }),
    ]);
    // The same body again: already there, as POST /links says it.
    const again = await fetch(url, { method: 'POST', body: JSON.stringify({ links: [{ link: 'https://vimeo.com/go1' }] }), headers: { authorization: `Bearer ${API_TOKEN}` } });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { results: unknown[] }).results).toEqual([expect.objectContaining({ status: 'duplicate', url: 'https://vimeo.com/go1' })]);
    const bad = await fetch(url, { method: 'POST', body: '{"links":[]}', headers: { authorization: `Bearer ${API_TOKEN}` } });
    expect(bad.status).toBe(400);
  });

  it('when the database is down, publishes the link for immediate dispatch and says so', async () => {
    const deadDb = connectDatabase(`postgresql://postgres@127.0.0.1:${await freePort()}/none`, { connectionTimeoutMs: 300 });
    const otherToken = '7654321:second-emulated-bot-for-db-down';
    // Another bot, so another outbox: its own prefix.
    await h.startGateway({ TELEGRAM_BOT_TOKEN: otherToken, STREAM_PREFIX: `${h.ns.prefix}-down` }, { database: deadDb });
    try {
      const aliceOnSecondBot = emulator.user({ id: ALICE, bot: otherToken });
      await aliceOnSecondBot.sendText('https://youtu.be/urgent1');
      const reply = await aliceOnSecondBot.nextBotMessage((m) => (m.text ?? '').includes('urgent1'));
      expect(reply.text).toContain('immediate download');
      expect(await h.events(linkUrgent.type, `${h.ns.prefix}-down`)).toContainEqual(expect.objectContaining({ url: 'https://youtu.be/urgent1', userId: String(ALICE), quality: '1080' }));
    } finally {
      await deadDb.db.$disconnect();
    }
  });

  it('registers the command menus per role', async () => {
    const calls = emulator.calls().filter((c) => c.method === 'setMyCommands');
    const adminMenu = calls.find((c) => JSON.stringify(c.params).includes(String(ADMIN)));
    expect(JSON.stringify(adminMenu?.params)).toContain('pooloff');
    const defaultMenu = calls.find((c) => JSON.stringify(c.params).includes('"default"'));
    expect(JSON.stringify(defaultMenu?.params)).not.toContain('pooloff');
    // The admin had not written to the bot at start, so Telegram refused; the attempt was made.
    expect(emulator.calls('sendMessage').some((c) => String((c.params as { chat_id?: unknown }).chat_id) === String(ADMIN) && String((c.params as { text?: unknown }).text).includes('started'))).toBe(true);
  });
});
