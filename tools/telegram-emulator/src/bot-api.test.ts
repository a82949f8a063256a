import { TelegramEmulator } from './index';
import type { Message, Update } from './types';

// Raw Bot API over real HTTP, as any client would speak it.

const TOKEN = '123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
let emulator: TelegramEmulator;
let apiRoot: string;

interface Answer {
  status: number;
  statusText: string;
  body: any;
}

async function call(method: string, params: Record<string, unknown> = {}, token = TOKEN): Promise<Answer> {
  const response = await fetch(`${apiRoot}/bot${token}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) });
  return { status: response.status, statusText: response.statusText, body: await response.json() };
}

async function ok(method: string, params: Record<string, unknown> = {}): Promise<any> {
  const answer = await call(method, params);
  if (!answer.body.ok) throw new Error(`${method} failed: ${answer.body.description}`);
  return answer.body.result;
}

async function failure(method: string, params: Record<string, unknown> = {}): Promise<string> {
  const answer = await call(method, params);
  expect(answer.body.ok).toBe(false);
  return answer.body.description;
}

const keyboard = (...data: string[]) => ({ inline_keyboard: [data.map((d) => ({ text: d, callback_data: d }))] });

beforeAll(async () => {
  emulator = new TelegramEmulator({ bots: [{ token: TOKEN, firstName: 'dwld' }] });
  ({ url: apiRoot } = await emulator.start());
});

afterAll(() => emulator.stop());

beforeEach(() => emulator.reset());

describe('answer shapes', () => {
  it('answers getMe with the bot made from the token', async () => {
    const answer = await call('getMe');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      ok: true,
      result: expect.objectContaining({ id: 123456, is_bot: true, first_name: 'dwld', username: 'dwld_test_bot' }),
    });
  });

  it('creates a bot for any well-formed token, and treats method names case-insensitively', async () => {
    const answer = await call('GETME', {}, '777:another-secret');
    expect(answer.body.result).toMatchObject({ id: 777, is_bot: true, username: 'dwld_test_bot' });
  });

  it('refuses malformed and revoked tokens with 401 Unauthorized', async () => {
    for (const token of ['not-a-token', '123456:wrong-secret']) {
      const answer = await call('getMe', {}, token);
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
    }
  });

  it('answers an unknown method with 404 Not Found', async () => {
    const answer = await call('sendTelepathy');
    expect(answer.status).toBe(404);
    expect(answer.statusText).toBe('Not Found');
    expect(answer.body).toEqual({ ok: false, error_code: 404, description: 'Not Found' });
  });

  it('reads parameters from a query string, a urlencoded form and a multipart form, JSON fields included', async () => {
    const user = emulator.user({ id: 501 });
    const markup = JSON.stringify(keyboard('q'));
    const viaQuery = await fetch(`${apiRoot}/bot${TOKEN}/sendMessage?chat_id=501&text=query&reply_markup=${encodeURIComponent(markup)}`);
    const viaForm = await fetch(`${apiRoot}/bot${TOKEN}/sendMessage`, { method: 'POST', body: new URLSearchParams({ chat_id: '501', text: 'form', reply_markup: markup }) });
    const multipart = new FormData();
    multipart.set('chat_id', '501');
    multipart.set('text', 'multipart');
    multipart.set('reply_markup', markup);
    const viaMultipart = await fetch(`${apiRoot}/bot${TOKEN}/sendMessage`, { method: 'POST', body: multipart });
    for (const response of [viaQuery, viaForm, viaMultipart]) expect(((await response.json()) as any).ok).toBe(true);
    expect(user.messages().map((m) => [m.text, m.reply_markup])).toEqual([
      ['query', keyboard('q')],
      ['form', keyboard('q')],
      ['multipart', keyboard('q')],
    ]);
  });

  it('answers logOut and close harmlessly', async () => {
    expect(await ok('logOut')).toBe(true);
    expect(await ok('close')).toBe(true);
    expect((await call('getMe')).body.ok).toBe(true);
  });
});

describe('sendMessage', () => {
  it('returns the full Message, from the bot, in the private chat', async () => {
    emulator.user({ id: 601, firstName: 'Ann', username: 'ann' });
    const message = await ok('sendMessage', { chat_id: 601, text: 'Hello', reply_markup: keyboard('a') });
    expect(message).toEqual({
      message_id: expect.any(Number),
      from: { id: 123456, is_bot: true, first_name: 'dwld', username: 'dwld_test_bot' },
      chat: { id: 601, type: 'private', first_name: 'Ann', username: 'ann' },
      date: expect.any(Number),
      text: 'Hello',
      reply_markup: keyboard('a'),
    });
    expect(Math.abs(message.date - Date.now() / 1000)).toBeLessThan(5);
  });

  it('refuses chats it does not know, and blocked ones', async () => {
    expect(await failure('sendMessage', { chat_id: 999_999, text: 'x' })).toBe('Bad Request: chat not found');
    expect(await failure('sendMessage', { chat_id: '@someone', text: 'x' })).toBe('Bad Request: chat not found');
    emulator.user({ id: 602 }).block();
    const blocked = await call('sendMessage', { chat_id: 602, text: 'x' });
    expect(blocked.status).toBe(403);
    expect(blocked.body.description).toBe('Forbidden: bot was blocked by the user');
  });

  it('refuses empty text, counting whitespace as empty', async () => {
    emulator.user({ id: 603 });
    expect(await failure('sendMessage', { chat_id: 603, text: '' })).toBe('Bad Request: message text is empty');
    expect(await failure('sendMessage', { chat_id: 603, text: ' \n ' })).toBe('Bad Request: message text is empty');
    expect((await ok('sendMessage', { chat_id: 603, text: '  trimmed \n' })).text).toBe('trimmed');
  });

  it('takes 4096 characters and refuses 4097', async () => {
    emulator.user({ id: 604 });
    expect((await ok('sendMessage', { chat_id: 604, text: 'x'.repeat(4096) })).text).toHaveLength(4096);
    const tooLong = await call('sendMessage', { chat_id: 604, text: 'x'.repeat(4097) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toEqual({ ok: false, error_code: 400, description: 'Bad Request: message is too long' });
  });

  it('parses HTML: escapes decode, tags become entities, and length is counted without tags', async () => {
    emulator.user({ id: 605 });
    const escaped = await ok('sendMessage', { chat_id: 605, text: '1 &lt; 2 &amp;&amp; <b>bold <i>both</i></b> <a href="https://x.org/?a=1&amp;b=2">link</a>', parse_mode: 'HTML' });
    expect(escaped.text).toBe('1 < 2 && bold both link');
    expect(escaped.entities).toEqual([
      { type: 'bold', offset: 9, length: 9 },
      { type: 'italic', offset: 14, length: 4 },
      { type: 'text_link', offset: 19, length: 4, url: 'https://x.org/?a=1&b=2' },
    ]);
    const full = await ok('sendMessage', { chat_id: 605, text: `<b>${'&amp;'.repeat(4096)}</b>`, parse_mode: 'HTML' });
    expect(full.text).toBe('&'.repeat(4096));
    expect(await failure('sendMessage', { chat_id: 605, text: `<b>${'y'.repeat(4097)}</b>`, parse_mode: 'HTML' })).toBe('Bad Request: message is too long');
  });

  it('refuses malformed HTML the way Telegram words it', async () => {
    emulator.user({ id: 606 });
    const send = (text: string) => failure('sendMessage', { chat_id: 606, text, parse_mode: 'HTML' });
    expect(await send('<b>unclosed')).toBe(`Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`);
    expect(await send('a <div>x</div>')).toBe(`Bad Request: can't parse entities: Unsupported start tag "div" at byte offset 2`);
    expect(await send('1 < 2')).toBe(`Bad Request: can't parse entities: Unsupported start tag "" at byte offset 2`);
    expect(await send('<b>x</i>')).toBe(`Bad Request: can't parse entities: Unmatched end tag at byte offset 4, expected "</b>", found "</i>"`);
    expect(emulator.chatMessages(606)).toEqual([]);
  });

  it('finds links and commands in bot text by itself, as Telegram does', async () => {
    emulator.user({ id: 607 });
    const message = await ok('sendMessage', { chat_id: 607, text: 'Send /help or see https://example.com/a.' });
    expect(message.entities).toEqual([
      { type: 'bot_command', offset: 5, length: 5 },
      { type: 'url', offset: 18, length: 21 },
    ]);
  });

  it('checks callback_data in bytes: 64 pass, 65 are BUTTON_DATA_INVALID', async () => {
    emulator.user({ id: 608 });
    expect((await ok('sendMessage', { chat_id: 608, text: 'ok', reply_markup: keyboard('d'.repeat(64)) })).reply_markup).toEqual(keyboard('d'.repeat(64)));
    expect(await failure('sendMessage', { chat_id: 608, text: 'no', reply_markup: keyboard('d'.repeat(65)) })).toBe('Bad Request: BUTTON_DATA_INVALID');
    expect(await failure('sendMessage', { chat_id: 608, text: 'no', reply_markup: keyboard('é'.repeat(33)) })).toBe('Bad Request: BUTTON_DATA_INVALID');
  });

  it('validates the other inline buttons', async () => {
    emulator.user({ id: 609 });
    const withButton = (button: object) => failure('sendMessage', { chat_id: 609, text: 'x', reply_markup: { inline_keyboard: [[button]] } });
    expect(await withButton({ text: 'plain' })).toBe("Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
    expect(await withButton({ text: 'bad', url: 'javascript:alert(1)' })).toBe('Bad Request: BUTTON_URL_INVALID');
    expect(await failure('sendMessage', { chat_id: 609, text: 'x', reply_markup: '{"inline_keyboard": [[' })).toBe("Bad Request: can't parse reply keyboard markup JSON object");
    const url = await ok('sendMessage', { chat_id: 609, text: 'x', reply_markup: { inline_keyboard: [[{ text: 'site', url: 'https://example.com' }]] } });
    expect(url.reply_markup).toEqual({ inline_keyboard: [[{ text: 'site', url: 'https://example.com' }]] });
  });

  it('shows a reply keyboard with a contact request until removed, without putting it on the message', async () => {
    const user = emulator.user({ id: 610, phone: '+15550100' });
    const shown = await ok('sendMessage', { chat_id: 610, text: 'Share?', reply_markup: { keyboard: [[{ text: 'Share phone', request_contact: true }]], one_time_keyboard: true } });
    expect(shown.reply_markup).toBeUndefined();
    expect(user.replyKeyboard()).toEqual({ keyboard: [[{ text: 'Share phone', request_contact: true }]], one_time_keyboard: true });
    const contact = user.pressKeyboardButton('Share phone');
    expect(contact.contact).toEqual({ phone_number: '+15550100', first_name: 'User 610', user_id: 610 });
    await ok('sendMessage', { chat_id: 610, text: 'Thanks', reply_markup: { remove_keyboard: true } });
    expect(user.replyKeyboard()).toBeUndefined();
  });

  it('quotes the replied message, and refuses a reply to a missing one', async () => {
    const user = emulator.user({ id: 611 });
    const asked = user.sendText('question');
    const answer = await ok('sendMessage', { chat_id: 611, text: 'answer', reply_parameters: { message_id: asked.message_id } });
    expect(answer.reply_to_message).toMatchObject({ message_id: asked.message_id, text: 'question' });
    const legacy = await ok('sendMessage', { chat_id: 611, text: 'again', reply_to_message_id: answer.message_id });
    expect(legacy.reply_to_message).not.toHaveProperty('reply_to_message');
    expect(await failure('sendMessage', { chat_id: 611, text: 'x', reply_parameters: { message_id: 10_000 } })).toBe('Bad Request: message to be replied not found');
    expect((await ok('sendMessage', { chat_id: 611, text: 'x', reply_parameters: { message_id: 10_000, allow_sending_without_reply: true } })).reply_to_message).toBeUndefined();
  });

  it('numbers messages per chat, one increasing sequence for both directions', async () => {
    const ann = emulator.user({ id: 612 });
    const bob = emulator.user({ id: 613 });
    const first = ann.sendText('one');
    const second: Message = await ok('sendMessage', { chat_id: 612, text: 'two', disable_notification: true, link_preview_options: { is_disabled: true } });
    const third = ann.sendText('three');
    const otherChat: Message = await ok('sendMessage', { chat_id: 613, text: 'elsewhere' });
    expect([first.message_id, second.message_id, third.message_id]).toEqual([1, 2, 3]);
    expect(otherChat.message_id).toBe(1);
    expect(ann.messages().map((m) => [m.message_id, m.text, m.from?.is_bot])).toEqual([
      [1, 'one', false],
      [2, 'two', true],
      [3, 'three', false],
    ]);
    expect(ann.botMessages().map((m) => m.text)).toEqual(['two']);
    expect(bob.messages().map((m) => m.text)).toEqual(['elsewhere']);
  });
});

describe('editing and deleting', () => {
  it('edits text and keyboard; no reply_markup removes the keyboard', async () => {
    const user = emulator.user({ id: 701 });
    const sent = await ok('sendMessage', { chat_id: 701, text: 'Pick', reply_markup: keyboard('a', 'b') });
    const edited = await ok('editMessageText', { chat_id: 701, message_id: sent.message_id, text: '<i>Picked</i>', parse_mode: 'HTML' });
    expect(edited).toMatchObject({ message_id: sent.message_id, text: 'Picked', entities: [{ type: 'italic', offset: 0, length: 6 }], edit_date: expect.any(Number) });
    expect(edited).not.toHaveProperty('reply_markup');
    expect(user.messages()).toEqual([edited]);
  });

  it('refuses an edit that changes nothing', async () => {
    emulator.user({ id: 702 });
    const sent = await ok('sendMessage', { chat_id: 702, text: 'Same', reply_markup: keyboard('a') });
    expect(await failure('editMessageText', { chat_id: 702, message_id: sent.message_id, text: 'Same', reply_markup: keyboard('a') })).toBe(
      'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
    );
    expect((await ok('editMessageText', { chat_id: 702, message_id: sent.message_id, text: 'Same', reply_markup: keyboard('b') })).reply_markup).toEqual(keyboard('b'));
  });

  it('edits and removes a keyboard alone with editMessageReplyMarkup', async () => {
    const user = emulator.user({ id: 703 });
    const sent = await ok('sendMessage', { chat_id: 703, text: 'Keys', reply_markup: keyboard('a') });
    expect((await ok('editMessageReplyMarkup', { chat_id: 703, message_id: sent.message_id, reply_markup: keyboard('c') })).reply_markup).toEqual(keyboard('c'));
    await ok('editMessageReplyMarkup', { chat_id: 703, message_id: sent.message_id });
    expect(user.messages()[0]).not.toHaveProperty('reply_markup');
    expect(await failure('editMessageReplyMarkup', { chat_id: 703, message_id: sent.message_id })).toMatch(/^Bad Request: message is not modified/);
  });

  it('refuses to edit what is not there or not the bot’s, and checks the edited length', async () => {
    const user = emulator.user({ id: 704 });
    const own = user.sendText('mine');
    expect(await failure('editMessageText', { chat_id: 704, message_id: 9_999, text: 'x' })).toBe('Bad Request: message to edit not found');
    expect(await failure('editMessageText', { chat_id: 704, message_id: own.message_id, text: 'x' })).toBe("Bad Request: message can't be edited");
    const sent = await ok('sendMessage', { chat_id: 704, text: 'short' });
    expect(await failure('editMessageText', { chat_id: 704, message_id: sent.message_id, text: 'x'.repeat(4097) })).toBe('Bad Request: MESSAGE_TOO_LONG');
    expect(await failure('editMessageText', { chat_id: 704, message_id: sent.message_id, text: ' ' })).toBe('Bad Request: message text is empty');
  });

  it('deletes for real: the message is gone and cannot be edited or deleted again', async () => {
    const user = emulator.user({ id: 705 });
    const sent = await ok('sendMessage', { chat_id: 705, text: 'Bye', reply_markup: keyboard('x') });
    const said = user.sendText('hello');
    expect(await ok('deleteMessage', { chat_id: 705, message_id: sent.message_id })).toBe(true);
    expect(await ok('deleteMessage', { chat_id: 705, message_id: said.message_id })).toBe(true);
    expect(user.messages()).toEqual([]);
    expect(await failure('editMessageText', { chat_id: 705, message_id: sent.message_id, text: 'back' })).toBe('Bad Request: message to edit not found');
    expect(await failure('deleteMessage', { chat_id: 705, message_id: sent.message_id })).toBe('Bad Request: message to delete not found');
    expect(() => user.pressButton(sent.message_id, 'x')).toThrow(/not in the chat/);
    expect((await ok('sendMessage', { chat_id: 705, text: 'new' })).message_id).toBe(said.message_id + 1);
  });
});

describe('getUpdates', () => {
  it('delivers what a person does as updates, with the entities Telegram computes', async () => {
    const user = emulator.user({ id: 801, firstName: 'Ann', languageCode: 'en' });
    user.sendText('/start');
    user.sendText('look at https://example.com/page, please');
    const updates: Update[] = await ok('getUpdates');
    expect(updates.map((u) => u.message)).toEqual([
      expect.objectContaining({ from: { id: 801, is_bot: false, first_name: 'Ann', language_code: 'en' }, chat: { id: 801, type: 'private', first_name: 'Ann' }, text: '/start', entities: [{ type: 'bot_command', offset: 0, length: 6 }] }),
      expect.objectContaining({ text: 'look at https://example.com/page, please', entities: [{ type: 'url', offset: 8, length: 24 }] }),
    ]);
    expect(updates[1]!.update_id).toBe(updates[0]!.update_id + 1);
  });

  it('answers at once when updates are queued, without parking the request', async () => {
    const parked = jest.fn();
    emulator.on('poll', parked);
    emulator.user({ id: 802 }).sendText('queued');
    const updates: Update[] = await ok('getUpdates', { timeout: 30 });
    emulator.off('poll', parked);
    expect(updates.map((u) => u.message?.text)).toEqual(['queued']);
    expect(parked).not.toHaveBeenCalled();
  });

  it('holds a long poll until an update arrives', async () => {
    const user = emulator.user({ id: 803 });
    const poll = call('getUpdates', { timeout: 30 });
    await emulator.waitForPolling();
    // Sent only once the request is waiting: an early (empty) answer could not contain it.
    const sent = user.sendText('while you wait');
    const answer = await poll;
    expect(answer.body.result.map((u: Update) => u.message)).toEqual([sent]);
  });

  it('answers an empty list when the long poll times out', async () => {
    expect(await ok('getUpdates', { timeout: 1 })).toEqual([]);
  });

  it('keeps updates until a higher offset confirms them, and honours limit', async () => {
    const user = emulator.user({ id: 804 });
    user.sendText('a');
    user.sendText('b');
    user.sendText('c');
    const all: Update[] = await ok('getUpdates');
    const [a, b, c] = all.map((u) => u.update_id) as [number, number, number];
    expect((await ok('getUpdates', { limit: 1 })).map((u: Update) => u.update_id)).toEqual([a]);
    expect((await ok('getUpdates', { offset: b })).map((u: Update) => u.update_id)).toEqual([b, c]);
    // Confirmed updates do not come back, even without an offset.
    expect((await ok('getUpdates')).map((u: Update) => u.update_id)).toEqual([b, c]);
    expect(await ok('getUpdates', { offset: c + 1 })).toEqual([]);
    user.sendText('d');
    expect((await ok('getUpdates', { offset: -1 })).map((u: Update) => u.message?.text)).toEqual(['d']);
  });

  it('terminates a waiting getUpdates with 409 when another one arrives', async () => {
    const first = call('getUpdates', { timeout: 30 });
    await emulator.waitForPolling();
    const second = await call('getUpdates', { timeout: 0 });
    expect(second.body).toEqual({ ok: true, result: [] });
    const terminated = await first;
    expect(terminated.status).toBe(409);
    expect(terminated.body).toEqual({ ok: false, error_code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' });
  });

  it('refuses getUpdates while a webhook is set', async () => {
    await ok('setWebhook', { url: 'http://127.0.0.1:9/hook' });
    const answer = await call('getUpdates');
    expect(answer.status).toBe(409);
    expect(answer.body.description).toBe("Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    expect(await call('deleteWebhook')).toMatchObject({ body: { ok: true, result: true, description: 'Webhook was deleted' } });
    expect((await call('getUpdates')).body.ok).toBe(true);
  });
});

describe('callback queries', () => {
  it('sends a pressed button as a callback query, answered once', async () => {
    const user = emulator.user({ id: 901, firstName: 'Cat' });
    const sent: Message = await ok('sendMessage', { chat_id: 901, text: 'Choose', reply_markup: keyboard('yes', 'no') });
    const press = user.pressButton(sent.message_id, 'no');
    const [update] = (await ok('getUpdates')) as Update[];
    expect(update?.callback_query).toEqual({ id: press.id, from: { id: 901, is_bot: false, first_name: 'Cat' }, message: sent, chat_instance: expect.any(String), data: 'no' });

    expect(await ok('answerCallbackQuery', { callback_query_id: press.id, text: 'Noted', show_alert: true })).toBe(true);
    await expect(press.answer()).resolves.toEqual({ text: 'Noted', show_alert: true });
    expect(await failure('answerCallbackQuery', { callback_query_id: press.id })).toBe('Bad Request: query is too old and response timeout expired or query ID is invalid');
    expect(await failure('answerCallbackQuery', { callback_query_id: '4242' })).toBe('Bad Request: query is too old and response timeout expired or query ID is invalid');
  });

  it('limits the answer text to 200 characters', async () => {
    const user = emulator.user({ id: 902 });
    const sent: Message = await ok('sendMessage', { chat_id: 902, text: 'Go', reply_markup: keyboard('go') });
    const press = user.pressButton(sent.message_id, 'go');
    expect(await failure('answerCallbackQuery', { callback_query_id: press.id, text: 'x'.repeat(201) })).toBe('Bad Request: MESSAGE_TOO_LONG');
    expect(await ok('answerCallbackQuery', { callback_query_id: press.id, text: 'x'.repeat(200) })).toBe(true);
  });

  it('refuses to press a button the message lacks, but can forge one', async () => {
    const user = emulator.user({ id: 903 });
    const sent: Message = await ok('sendMessage', { chat_id: 903, text: 'Go', reply_markup: keyboard('go') });
    expect(() => user.pressButton(sent.message_id, 'admin')).toThrow(/no button/);
    const forged = user.forgedCallback(sent.message_id, 'admin');
    expect(forged.update.callback_query).toMatchObject({ data: 'admin', message: { message_id: sent.message_id } });
    await ok('deleteMessage', { chat_id: 903, message_id: sent.message_id });
    const onDeleted = user.forgedCallback(sent.message_id, 'go');
    expect(onDeleted.update.callback_query?.message).toEqual({ chat: expect.objectContaining({ id: 903 }), message_id: sent.message_id, date: 0 });
  });
});

describe('faults, latency and the call log', () => {
  it('answers 429 with retry_after, once, without running the method', async () => {
    const user = emulator.user({ id: 1001 });
    emulator.failNext('sendMessage', { errorCode: 429, retryAfter: 2 });
    const limited = await call('sendMessage', { chat_id: 1001, text: 'x' });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ ok: false, error_code: 429, description: 'Too Many Requests: retry after 2', parameters: { retry_after: 2 } });
    expect(user.messages()).toEqual([]);
    expect((await call('sendMessage', { chat_id: 1001, text: 'x' })).body.ok).toBe(true);
  });

  it('answers 5xx for any method, as many times as asked', async () => {
    emulator.failNext('*', { errorCode: 502 }, 2);
    emulator.failNext('getMe', { errorCode: 500, description: 'Internal Server Error: restart' });
    const answers = [await call('getMe'), await call('getWebhookInfo'), await call('getMe'), await call('getMe')];
    expect(answers.map((a) => [a.status, a.statusText, a.body.description])).toEqual([
      [502, 'Bad Gateway', 'Bad Gateway'],
      [502, 'Bad Gateway', 'Bad Gateway'],
      [500, 'Internal Server Error', 'Internal Server Error: restart'],
      [200, 'OK', undefined],
    ]);
  });

  it('slows answers down with setLatency', async () => {
    emulator.setLatency(150);
    const started = Date.now();
    await ok('getMe');
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
  });

  it('logs every call with its parameters and answer, and announces it', async () => {
    const seen: string[] = [];
    emulator.on('call', (c) => seen.push(c.method));
    const next = emulator.waitForCall('getMyCommands', (c) => c.params.language_code === 'de');
    await ok('setMyCommands', { commands: [{ command: 'start', description: 'Start' }], language_code: 'de' });
    await call('getMyCommands', { language_code: 'de' });
    expect((await next).response).toEqual({ ok: true, result: [{ command: 'start', description: 'Start' }] });
    expect(emulator.calls('setMyCommands')).toEqual([
      { method: 'setMyCommands', params: { commands: [{ command: 'start', description: 'Start' }], language_code: 'de' }, at: expect.any(Number), response: { ok: true, result: true }, botId: 123456, source: 'http' },
    ]);
    expect(seen).toEqual(['setMyCommands', 'getMyCommands']);
    emulator.removeAllListeners('call');
  });

  it('forgets calls, faults and latency on reset', async () => {
    emulator.failNext('getMe', { errorCode: 500 });
    emulator.setLatency(10_000);
    emulator.reset();
    expect((await call('getMe')).status).toBe(200);
    expect(emulator.calls().map((c) => c.method)).toEqual(['getMe']);
  });
});

describe('commands and chat actions', () => {
  it('stores commands per scope and language', async () => {
    const general = [{ command: 'start', description: 'Start' }];
    const personal = [{ command: 'links', description: 'Your links' }];
    await ok('setMyCommands', { commands: general });
    await ok('setMyCommands', { commands: personal, scope: { type: 'chat', chat_id: 42 } });
    expect(await ok('getMyCommands')).toEqual(general);
    expect(await ok('getMyCommands', { scope: { type: 'chat', chat_id: 42 } })).toEqual(personal);
    expect(await ok('getMyCommands', { language_code: 'fr' })).toEqual([]);
    expect(emulator.commands({ scope: { type: 'chat', chat_id: 42 } })).toEqual(personal);
    await ok('deleteMyCommands');
    expect(await ok('getMyCommands')).toEqual([]);
    expect(await ok('getMyCommands', { scope: { type: 'chat', chat_id: 42 } })).toEqual(personal);
    expect(await failure('setMyCommands', { commands: [{ command: 'Bad Command', description: 'x' }] })).toBe('Bad Request: BOT_COMMAND_INVALID');
  });

  it('accepts chat actions it knows', async () => {
    emulator.user({ id: 1101 });
    expect(await ok('sendChatAction', { chat_id: 1101, action: 'typing' })).toBe(true);
    expect(emulator.lastChatAction(1101)?.action).toBe('typing');
    expect(await failure('sendChatAction', { chat_id: 1101, action: 'dancing' })).toBe('Bad Request: wrong parameter action in request');
  });
});
