import { TelegramEmulator } from './index';
import type { Message } from './types';

// The /__emulator/ HTTP API, for tests that run the bot in another process.

const TOKEN = '31337:control-api-token';
let emulator: TelegramEmulator;

async function control(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${emulator.url}/__emulator${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

async function botApi(method: string, params: Record<string, unknown> = {}): Promise<any> {
  const response = await fetch(`${emulator.url}/bot${TOKEN}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) });
  return ((await response.json()) as { result: unknown }).result;
}

beforeAll(async () => {
  emulator = new TelegramEmulator({ bots: [{ token: TOKEN, username: 'control_bot' }] });
  await emulator.start();
});

afterAll(() => emulator.stop());

beforeEach(() => emulator.reset());

it('lets a person write, share a contact and edit, and shows the chat', async () => {
  const said = await control('POST', '/users/77/messages', { text: 'hello /start', firstName: 'Zoe', phone: '+4412345' });
  expect(said.json).toMatchObject({ message_id: expect.any(Number), from: { id: 77, first_name: 'Zoe', is_bot: false }, text: 'hello /start', entities: [{ type: 'bot_command', offset: 6, length: 6 }] });
  const contact = await control('POST', '/users/77/contact', {});
  expect(contact.json.contact).toEqual({ phone_number: '+4412345', first_name: 'Zoe', user_id: 77 });
  const forwarded = await control('POST', '/users/77/contact', { phoneNumber: '+100', userId: 78, firstName: 'Other' });
  expect(forwarded.json.contact).toEqual({ phone_number: '+100', first_name: 'Other', user_id: 78 });
  await control('POST', '/users/77/edits', { messageId: said.json.message_id, text: 'hello again' });

  const updates = await botApi('getUpdates');
  expect(updates.map((u: any) => Object.keys(u)[1])).toEqual(['message', 'message', 'message', 'edited_message']);
  const chat = await control('GET', '/chats/77/messages');
  expect(chat.json.map((m: Message) => m.text ?? m.contact?.phone_number)).toEqual(['hello again', '+4412345', '+100']);
});

it('presses a button and reports the bot’s answer', async () => {
  await control('POST', '/users', { id: 78, firstName: 'Yan' });
  const sent = await botApi('sendMessage', { chat_id: 78, text: 'Choose', reply_markup: { inline_keyboard: [[{ text: 'A', callback_data: 'a' }]] } });

  const refused = await control('POST', '/users/78/callback', { messageId: sent.message_id, data: 'b' });
  expect(refused.status).toBe(400);
  expect(refused.json.error).toMatch(/no button with callback_data "b"/);

  const pressed = await control('POST', '/users/78/callback', { messageId: sent.message_id, data: 'a' });
  expect(pressed.json.update.callback_query).toMatchObject({ id: pressed.json.id, data: 'a' });
  const answer = control('GET', `/callbacks/${pressed.json.id}/answer?timeoutMs=5000`);
  await botApi('answerCallbackQuery', { callback_query_id: pressed.json.id, text: 'A it is' });
  expect((await answer).json).toEqual({ text: 'A it is' });

  const forged = await control('POST', '/users/78/callback', { messageId: sent.message_id, data: 'b', forged: true });
  expect(forged.json.update.callback_query.data).toBe('b');
});

it('waits for the next bot message after the last one seen', async () => {
  const said = await control('POST', '/users/79/messages', { text: 'ping' });
  const next = control('GET', `/chats/79/bot-messages/next?after=${said.json.message_id}&timeoutMs=5000`);
  const sent = await botApi('sendMessage', { chat_id: 79, text: 'pong' });
  expect((await next).json).toEqual(sent);
  // Already there: answered at once.
  expect((await control('GET', `/chats/79/bot-messages/next?after=${said.json.message_id}`)).json.text).toBe('pong');
});

it('lists calls, injects faults, and resets', async () => {
  await botApi('getMe');
  await botApi('getWebhookInfo');
  expect((await control('GET', '/calls?method=getMe')).json).toEqual([expect.objectContaining({ method: 'getMe', response: { ok: true, result: expect.objectContaining({ username: 'control_bot' }) } })]);

  await control('POST', '/faults', { method: 'getMe', errorCode: 429, retryAfter: 3 });
  const limited = await fetch(`${emulator.url}/bot${TOKEN}/getMe`);
  expect(limited.status).toBe(429);
  expect(await limited.json()).toEqual({ ok: false, error_code: 429, description: 'Too Many Requests: retry after 3', parameters: { retry_after: 3 } });

  const bots = await control('GET', '/bots');
  expect(bots.json).toEqual([expect.objectContaining({ id: 31337, username: 'control_bot', polling: false, webhook: expect.objectContaining({ url: '' }) })]);

  await control('POST', '/reset');
  expect((await control('GET', '/calls')).json).toEqual([]);
});

it('answers unknown paths with Telegram’s 404, and survives malformed ones', async () => {
  const response = await fetch(`${emulator.url}/nothing/here`);
  expect(response.status).toBe(404);
  expect(await response.json()).toEqual({ ok: false, error_code: 404, description: 'Not Found' });
  expect((await fetch(`${emulator.url}/__emulator/chats/%E0%A4%A/messages`)).status).toBe(400);
  expect((await control('GET', '/calls')).status).toBe(200);
});
