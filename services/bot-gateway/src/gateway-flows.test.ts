import * as grpc from '@grpc/grpc-js';
import { GrpcStatusError, serveDownloader, type DownloaderHandlers, type RunningServer } from '@dwld/contract';
import type { Database } from '@dwld/db';
import { dispatchResult, EventPublisher, linkAdded, type DispatchResult } from '@dwld/events';
import type { TelegramEmulator } from '@dwld/telegram-emulator';
import { freePort, waitFor } from '@dwld/testkit';
import { ADMIN, ALICE, BOB, startHarness, type Harness } from './testing/harness';

const IVAN = 202;

describe('gateway flows: results, notifications, service replies, languages, admin fleet commands', () => {
  let h: Harness;
  let emulator: TelegramEmulator;
  let db: Database;
  let publisher: EventPublisher;
  const servers: RunningServer[] = [];
  const deleted: string[] = [];

  beforeAll(async () => {
    h = await startHarness({ SERVICE_MESSAGE_TTL_S: '1', ALLOWED_IDS: `${ALICE},${BOB},${IVAN}` });
    ({ emulator, db } = h);
    publisher = new EventPublisher({ redis: h.ns.redis, prefix: h.ns.prefix });
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop(100)));
    await h.stop();
  });

  async function queueLink(userId: number, url: string) {
    const user = emulator.user({ id: userId });
    const sent = await user.sendText(url);
    const reply = await user.nextBotMessage((m) => (m.text ?? '').includes(url) && Boolean(m.reply_markup));
    const link = await db.link.findFirstOrThrow({ where: { url, userId: BigInt(userId) } });
    await waitFor(async () => (await db.link.findUniqueOrThrow({ where: { id: link.id } })).replyMessageId === reply.message_id);
    return { user, sent, reply, link };
  }

  /** /clean, then "yes": the text the question turns into once every downloader answered. */
  async function confirmClean(): Promise<string> {
    const admin = emulator.user({ id: ADMIN });
    await admin.sendText('/clean');
    const question = await admin.nextBotMessage((m) => (m.text ?? '').includes('Clean the history'));
    const yes = (question.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> }).inline_keyboard.flat().find((b) => b.text.includes('Yes, clean'))!;
    await (await admin.pressButton(question.message_id, yes.callback_data)).answer();
    let text = '';
    // The question turns into "Cleaning…" at once, then into the outcome.
    await waitFor(() => (text = admin.messages().find((m) => m.message_id === question.message_id)?.text ?? '').includes('🧹 ') && !/Clean the history|Cleaning every/.test(text), { what: 'the cleaning outcome' });
    return text;
  }

  function result(over: Partial<DispatchResult> & Pick<DispatchResult, 'linkId' | 'url' | 'userId' | 'chatId'>): DispatchResult {
    return { urgentEventId: null, messageId: null, replyMessageId: null, ok: true, downloader: 'nas', error: null, attempts: 1, nextAttemptAt: null, failed: false, ...over };
  }

  async function downloader(overrides: Partial<DownloaderHandlers> = {}) {
    const handlers: DownloaderHandlers = {
      SetToQueue: async () => ({ linksInWork: [] }),
      DeleteFromQueue: async (req) => (deleted.push(req.link), { linksInWork: [] }),
      CleanHistory: async () => ({ history: [{ link: 'https://a', status: 'done', maxQuantity: '720' }, { link: 'https://b', status: 'done', maxQuantity: '720' }] }),
      Status: async () => ({ sensors: 'cpu 41°C', linksInWork: [{ link: 'https://youtu.be/w', filename: 'w.mp4', moveTo: '/media/Films', targetQuantity: 1080, procentage: 42.5, status: 'downloading', currentSize: 52428800, totalSize: 104857600, message: '' }] }),
      Queue: async () => ({ queue: [] }),
      Healtheck: async () => ({ message: 'ok' }),
      ...overrides,
    };
    const server = await serveDownloader(handlers);
    servers.push(server);
    return server;
  }

  it('says which downloader took a link, unless notifications are off; the messages go either way', async () => {
    const first = await queueLink(ALICE, 'https://youtu.be/notify-on');
    await publisher.publish(dispatchResult, result({ linkId: first.link.id, url: first.link.url, userId: String(ALICE), chatId: String(ALICE), messageId: first.sent.message_id, replyMessageId: first.reply.message_id, downloader: 'nas-1' }));
    await first.user.nextBotMessage((m) => (m.text ?? '').includes('nas-1'));

    await first.user.sendText('/disable');
    await first.user.nextBotMessage((m) => (m.text ?? '').includes('Notifications are off'));
    const second = await queueLink(ALICE, 'https://youtu.be/notify-off');
    const before = emulator.calls('sendMessage').length;
    await publisher.publish(dispatchResult, result({ linkId: second.link.id, url: second.link.url, userId: String(ALICE), chatId: String(ALICE), messageId: second.sent.message_id, replyMessageId: second.reply.message_id, downloader: 'nas-2' }));
    await waitFor(() => !second.user.messages().some((m) => m.message_id === second.reply.message_id || m.message_id === second.sent.message_id), { what: 'both messages deleted' });
    expect(emulator.calls('sendMessage').slice(before).some((c) => String((c.params as { text?: string }).text).includes('nas-2'))).toBe(false);
    await first.user.sendText('/enable');
    await first.user.nextBotMessage((m) => (m.text ?? '').includes('Notifications are on'));
  });

  it('shows a failed attempt in plain words with the next try on the card, and a final failure with only "try again" and "remove"; never the technical error', async () => {
    const { user, reply, link } = await queueLink(BOB, 'https://vimeo.com/fails');
    const next = new Date(Date.now() + 120_000);
    const technical = 'nas: SetToQueue to downloader "nas" at 127.0.0.1:37939 failed: UNAVAILABLE: No connection established';
    await db.link.update({ where: { id: link.id }, data: { attempts: 1, lastError: technical, lastErrorKind: 'unavailable', sendAt: next } });
    await publisher.publish(dispatchResult, result({ linkId: link.id, url: link.url, userId: String(BOB), chatId: String(BOB), replyMessageId: reply.message_id, ok: false, downloader: null, error: { kind: 'unavailable', message: technical }, nextAttemptAt: next.toISOString() }));
    await waitFor(() => user.messages().find((m) => m.message_id === reply.message_id)?.text?.includes('Waiting to retry'), { what: 'the card to show the failure' });
    const shown = user.messages().find((m) => m.message_id === reply.message_id)!;
    expect(shown.text).toContain('No downloader is reachable right now.');
    expect(shown.text).toMatch(/Next try in (2 min|1\d\d s) \(\d\d:\d\d:\d\d UTC\), attempt 2/);
    expect(shown.text).not.toMatch(/127\.0\.0\.1|UNAVAILABLE|SetToQueue|Queued/);
    expect(shown.reply_markup).toBeDefined();

    await db.link.update({ where: { id: link.id }, data: { attempts: 3, status: 'failed', lastError: 'nas: SetToQueue … failed: INVALID_ARGUMENT: unsupported site', lastErrorKind: 'refused', lastErrorReason: 'unsupported site' } });
    await publisher.publish(dispatchResult, result({ linkId: link.id, url: link.url, userId: String(BOB), chatId: String(BOB), replyMessageId: reply.message_id, ok: false, downloader: null, error: { kind: 'refused', message: 'unsupported site' }, attempts: 3, failed: true }));
    await waitFor(() => user.messages().find((m) => m.message_id === reply.message_id)?.text?.includes('Not downloaded'), { what: 'the final failure' });
    const failed = user.messages().find((m) => m.message_id === reply.message_id)!;
    expect(failed.text).toContain('The downloader refused this link: “unsupported site”');
    expect(failed.text).toContain('Gave up after 3 attempt(s)');
    expect(failed.text).not.toMatch(/INVALID_ARGUMENT|SetToQueue|Queued/);
    // Nothing left to choose on it: try it again, or take it off the queue.
    expect((failed.reply_markup as { inline_keyboard: Array<Array<{ text: string }>> }).inline_keyboard.flat().map((b) => b.text)).toEqual(['↻ Try again', '✖ Remove']);

    // The admin's /queue keeps the technical detail; the owner's shows the plain words.
    const admin = emulator.user({ id: ADMIN });
    await admin.sendText('/queue');
    expect((await admin.nextBotMessage((m) => (m.text ?? '').includes('vimeo.com/fails'))).text).toContain('INVALID_ARGUMENT: unsupported site');
    await user.sendText('/queue');
    const own = await user.nextBotMessage((m) => (m.text ?? '').includes('vimeo.com/fails'));
    expect(own.text).toContain('The downloader refused this link');
    expect(own.text).not.toContain('INVALID_ARGUMENT');

    // "Try again": only the owner or an admin; it queues the link afresh, to be sent now, and wakes the schedulers.
    const retry = (failed.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> }).inline_keyboard.flat().find((b) => b.text === '↻ Try again')!.callback_data;
    const alicePress = await emulator.user({ id: ALICE }).forgedCallback(reply.message_id, retry);
    expect((await alicePress.answer()).text).toContain('not your link');
    expect(await db.link.findUniqueOrThrow({ where: { id: link.id } })).toMatchObject({ status: 'failed', attempts: 3 });
    const pressedAt = Date.now();
    const press = await user.pressButton(reply.message_id, retry);
    expect((await press.answer()).text).toBe('Queued again: sending it now.');
    const requeued = await db.link.findUniqueOrThrow({ where: { id: link.id } });
    expect(requeued).toMatchObject({ status: 'queued', attempts: 0, firstFailedAt: null, unconfirmedDownloader: null, lastError: null, lastErrorKind: null, lastErrorReason: null });
    expect(requeued.sendAt.getTime()).toBeGreaterThanOrEqual(pressedAt - 1000);
    expect(requeued.sendAt.getTime()).toBeLessThanOrEqual(Date.now());
    expect(await h.events(linkAdded.type)).toContainEqual(expect.objectContaining({ linkId: link.id, url: link.url, userId: String(BOB) }));
    await waitFor(() => user.messages().find((m) => m.message_id === reply.message_id)?.text?.includes('Queued'), { what: 'the card to say queued again' });
    const card = user.messages().find((m) => m.message_id === reply.message_id)!;
    expect(card.text).toContain('Sending now');
    expect(card.text).not.toContain('refused');
    // Pressed again (a stale card): it is queued already, nothing changes.
    const twice = await user.forgedCallback(reply.message_id, retry);
    expect((await twice.answer()).text).toBe('This link is queued already.');
    // An admin may try someone else's failed link again.
    await db.link.update({ where: { id: link.id }, data: { status: 'failed', attempts: 20, lastErrorKind: 'internal', lastErrorReason: 'SetToQueue: disk full', unconfirmedDownloader: 'nas' } });
    const byAdmin = await emulator.user({ id: ADMIN }).forgedCallback(reply.message_id, retry);
    expect((await byAdmin.answer()).text).toBe('Queued again: sending it now.');
    expect(await db.link.findUniqueOrThrow({ where: { id: link.id } })).toMatchObject({ status: 'queued', attempts: 0, unconfirmedDownloader: null });
    // Failed again, as the /select test below expects to find it.
    await db.link.update({ where: { id: link.id }, data: { status: 'failed', attempts: 3 } });
  });

  it('deletes service replies after SERVICE_MESSAGE_TTL_S (durably scheduled)', async () => {
    const bob = emulator.user({ id: BOB });
    await bob.sendText('/help');
    const help = await bob.nextBotMessage((m) => (m.text ?? '').includes('/queue'));
    await waitFor(() => !bob.messages().some((m) => m.message_id === help.message_id), { what: 'the help message to be deleted', timeout: 10_000 });
  });

  it('speaks Russian to a Russian-speaking user', async () => {
    const ivan = emulator.user({ id: IVAN, languageCode: 'ru' });
    await ivan.sendText('https://rutube.ru/ivan');
    const reply = await ivan.nextBotMessage();
    expect(reply.text).toContain('В очереди');
    expect(reply.text).toContain('Качество');
  });

  it('lets /select choose which links /queue shows', async () => {
    const bob = emulator.user({ id: BOB });
    await bob.sendText('https://vimeo.com/select-queued');
    await bob.nextBotMessage((m) => (m.text ?? '').includes('select-queued'));
    await bob.sendText('/select');
    const menu = await bob.nextBotMessage((m) => (m.text ?? '').includes('Which links'));
    const queuedButton = (menu.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> }).inline_keyboard.flat().find((b) => b.text.includes('Queued'))!;
    await (await bob.pressButton(menu.message_id, queuedButton.callback_data)).answer();
    expect((await db.user.findUniqueOrThrow({ where: { telegramId: BigInt(BOB) } })).queueFilter).toEqual(['retrying', 'failed']);
    await waitFor(() => bob.messages().find((m) => m.message_id === menu.message_id)?.reply_markup && JSON.stringify(bob.messages().find((m) => m.message_id === menu.message_id)!.reply_markup).includes('⬜ Queued'));
    await bob.sendText('/queue');
    const queue = await bob.nextBotMessage((m) => (m.text ?? '').includes('Queue'));
    expect(queue.text).not.toContain('select-queued');
    expect(queue.text).toContain('vimeo.com/fails');
  });

  it('removes a link from the /queue button, also from every downloader', async () => {
    const server = await downloader();
    await db.downloader.create({ data: { name: 'nas-remove', host: '127.0.0.1', port: server.port, allowedPatterns: ['*'], registeredAt: new Date(), lastSeenAt: new Date() } });
    const { user, link } = await queueLink(ALICE, 'https://youtu.be/remove-me');
    await user.sendText('/queue');
    const queue = await user.nextBotMessage((m) => (m.text ?? '').includes('remove-me'));
    const button = (queue.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> }).inline_keyboard.flat().find((b) => b.text === `✖ #${link.id}`)!;
    const answer = await (await user.pressButton(queue.message_id, button.callback_data)).answer();
    expect(answer.text).toContain('Removed');
    expect(await db.link.count({ where: { id: link.id } })).toBe(0);
    expect(deleted).toContain('https://youtu.be/remove-me');
    await db.downloader.delete({ where: { name: 'nas-remove' } });
  });

  it('gives admins /downloaders, /status and /clean from the real downloaders, and reports one that is down', async () => {
    const up = await downloader();
    const downPort = await freePort();
    const now = new Date();
    await db.downloader.createMany({
      data: [
        { name: 'alpha', host: '127.0.0.1', port: up.port, allowedPatterns: ['youtube.com', 'vk.com'], registeredAt: now, lastSeenAt: now },
        { name: 'beta', host: '127.0.0.1', port: downPort, allowedPatterns: ['*'], registeredAt: now, lastSeenAt: now, healthy: false },
      ],
    });
    const admin = emulator.user({ id: ADMIN });
    await admin.sendText('/downloaders');
    const list = await admin.nextBotMessage((m) => (m.text ?? '').includes('alpha'));
    expect(list.text).toContain(`127.0.0.1:${up.port}`);
    expect(list.text).toContain('youtube.com, vk.com');
    expect(list.text).toMatch(/🔴 beta/);

    await admin.sendText('/status');
    const status = await admin.nextBotMessage((m) => (m.text ?? '').includes('cpu 41°C'));
    expect(status.text).toContain('42.5%');
    expect(status.text).toContain('50.0/100.0 MB');
    expect(status.text).toContain('/media/Films');
    expect(status.text).toMatch(/beta.*unavailable/);

    const clean = await confirmClean();
    expect(clean).toContain('alpha: 2 history entries cleaned');
    expect(clean).toContain('beta: failed');

    await emulator.user({ id: BOB }).sendText('/status');
    expect((await emulator.user({ id: BOB }).nextBotMessage()).text).toContain('for administrators');
    await db.downloader.deleteMany({ where: { name: { in: ['alpha', 'beta'] } } });
  });

  it('refuses a downloader error on /clean without crashing the bot', async () => {
    const angry = await downloader({ CleanHistory: async () => Promise.reject(new GrpcStatusError(grpc.status.FAILED_PRECONDITION, 'busy downloading')) });
    await db.downloader.create({ data: { name: 'angry', host: '127.0.0.1', port: angry.port, allowedPatterns: ['*'], registeredAt: new Date(), lastSeenAt: new Date() } });
    expect(await confirmClean()).toContain('busy downloading');
    await db.downloader.delete({ where: { name: 'angry' } });
  });

  it('asks before /clean: nothing is cleaned on "Cancel", nor by someone who is not an admin', async () => {
    let cleans = 0;
    const counted = await downloader({ CleanHistory: async () => (cleans++, { history: [] }) });
    await db.downloader.create({ data: { name: 'counted', host: '127.0.0.1', port: counted.port, allowedPatterns: ['*'], registeredAt: new Date(), lastSeenAt: new Date() } });
    const admin = emulator.user({ id: ADMIN });
    await admin.sendText('/clean');
    const question = await admin.nextBotMessage((m) => (m.text ?? '').includes('Clean the history'));
    expect(question.text).toContain('counted');
    const buttons = (question.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> }).inline_keyboard.flat();
    const no = buttons.find((b) => b.text === 'Cancel')!;
    const yes = buttons.find((b) => b.text.includes('Yes, clean'))!;
    // A user sending the same "yes" from a message of their own chat (the data is no secret) is refused.
    const bob = emulator.user({ id: BOB });
    await bob.sendText('/help');
    const bobs = await bob.nextBotMessage((m) => (m.text ?? '').includes('/queue'));
    expect((await (await bob.forgedCallback(bobs.message_id, yes.callback_data)).answer()).text).toContain('for administrators');
    await (await admin.pressButton(question.message_id, no.callback_data)).answer();
    // "Yes" pressed right after (before the buttons are gone) is one answer too many.
    expect((await (await admin.forgedCallback(question.message_id, yes.callback_data)).answer()).text).toBe('This question was answered already.');
    await waitFor(() => admin.messages().find((m) => m.message_id === question.message_id)?.text?.includes('cancelled'), { what: 'the question to say cancelled' });
    expect(cleans).toBe(0);

    // Two "yes" presses clean once.
    await admin.sendText('/clean');
    const again = await admin.nextBotMessage((m) => (m.text ?? '').includes('Clean the history') && m.message_id > question.message_id);
    const yesAgain = (again.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> }).inline_keyboard.flat().find((b) => b.text.includes('Yes, clean'))!;
    const [first, second] = await Promise.all([admin.pressButton(again.message_id, yesAgain.callback_data).answer(), admin.pressButton(again.message_id, yesAgain.callback_data).answer()]);
    expect([first.text ?? '', second.text ?? ''].sort()).toEqual(['', 'This question was answered already.']);
    await waitFor(() => admin.messages().find((m) => m.message_id === again.message_id)?.text?.includes('counted: 0 history entries cleaned'), { what: 'the one cleaning' });
    expect(cleans).toBe(1);
    await db.downloader.delete({ where: { name: 'counted' } });
  });

  it('greets with a menu keyboard (admins get the admin buttons) and /restart resets the settings', async () => {
    const bob = emulator.user({ id: BOB });
    await bob.sendText('/start');
    await bob.nextBotMessage((m) => (m.text ?? '').includes('Send me a link'));
    expect(JSON.stringify(bob.replyKeyboard())).toContain('📋 Queue');
    expect(JSON.stringify(bob.replyKeyboard())).not.toContain('📊 Status');
    const admin = emulator.user({ id: ADMIN });
    await admin.sendText('/start');
    await admin.nextBotMessage((m) => (m.text ?? '').includes('administrator'));
    expect(JSON.stringify(admin.replyKeyboard())).toContain('📊 Status');

    await bob.sendText('/disable');
    await bob.nextBotMessage((m) => (m.text ?? '').includes('Notifications are off'));
    await bob.sendText('/restart');
    await bob.nextBotMessage((m) => (m.text ?? '').includes('settings are reset'));
    expect(await db.user.findUniqueOrThrow({ where: { telegramId: BigInt(BOB) } })).toMatchObject({ notifications: true, queueFilter: ['queued', 'retrying', 'failed'] });
    await bob.pressKeyboardButton('📋 Queue');
    await bob.nextBotMessage((m) => (m.text ?? '').includes('Queue'));
  });

  it('answers a flood of links politely once LINKS_PER_MINUTE is reached, queueing only the allowance', async () => {
    // A gateway of its own, with a small allowance.
    await h.startGateway({ TELEGRAM_BOT_TOKEN: '3456789:flood-test-bot-token-emulated', STREAM_PREFIX: `${h.ns.prefix}-flood`, LINKS_PER_MINUTE: '3', ALLOWED_IDS: '203' });
    const onSecondBot = emulator.user({ id: 203, bot: '3456789:flood-test-bot-token-emulated' });
    await onSecondBot.sendText('https://vimeo.com/f1 https://vimeo.com/f2');
    await onSecondBot.nextBotMessage((m) => (m.text ?? '').includes('f2'));
    await onSecondBot.sendText('https://vimeo.com/f3 https://vimeo.com/f4');
    const polite = await onSecondBot.nextBotMessage((m) => (m.text ?? '').includes('links a minute'));
    expect(polite.text).toContain('1 link(s) were not queued');
    expect((await db.link.findMany({ where: { userId: 203n } })).map((l) => l.url).sort()).toEqual(['https://vimeo.com/f1', 'https://vimeo.com/f2', 'https://vimeo.com/f3']);
  });
});
