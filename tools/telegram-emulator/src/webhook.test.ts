import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, waitFor } from '@dwld/testkit';
import { TelegramEmulator } from './index';
import type { Update } from './types';

// Webhook mode: the emulator POSTs updates to a real HTTP server standing in for the bot.

const TOKEN = '424242:webhook-test-secret';

interface Delivery {
  headers: IncomingHttpHeaders;
  update: Update;
}

interface Reply {
  status: number;
  json?: unknown;
}

/** A tiny webhook endpoint that records what it receives and answers as `respond` says. */
class Receiver extends EventEmitter {
  readonly deliveries: Delivery[] = [];
  /** Requests being answered right now, and the most there ever were at once. */
  open = 0;
  mostOpen = 0;
  respond: (update: Update, attempt: number) => Reply | Promise<Reply> = () => ({ status: 200 });
  private readonly server: Server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += String(chunk);
    const update = JSON.parse(body) as Update;
    const attempt = this.deliveries.filter((d) => d.update.update_id === update.update_id).length;
    this.deliveries.push({ headers: request.headers, update });
    this.mostOpen = Math.max(this.mostOpen, ++this.open);
    this.emit('delivery');
    const { status, json } = await this.respond(update, attempt);
    this.open--;
    response.writeHead(status, json === undefined ? {} : { 'content-type': 'application/json' }).end(json === undefined ? '' : JSON.stringify(json));
  });

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** Resolves once `count` requests have arrived in all. */
  async received(count: number): Promise<Delivery[]> {
    while (this.deliveries.length < count) await once(this, 'delivery');
    return this.deliveries;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let emulator: TelegramEmulator;
let receiver: Receiver;
let hookUrl: string;

async function call(method: string, params: Record<string, unknown> = {}): Promise<any> {
  const response = await fetch(`${emulator.url}/bot${TOKEN}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) });
  return response.json();
}

function delivered(updateId: number): Promise<unknown> {
  return new Promise((resolve) => {
    const listener = ({ update }: { update: Update }) => {
      if (update.update_id !== updateId) return;
      emulator.off('webhookDelivered', listener);
      resolve(undefined);
    };
    emulator.on('webhookDelivered', listener);
  });
}

beforeAll(async () => {
  emulator = new TelegramEmulator({ bots: [{ token: TOKEN }], webhook: { retryDelayMs: 10 } });
  await emulator.start();
});

beforeEach(async () => {
  emulator.reset();
  receiver = new Receiver();
  hookUrl = await receiver.start();
});

afterEach(() => receiver.close());

afterAll(() => emulator.stop());

it('POSTs updates in order with the secret token header, and confirms them', async () => {
  expect(await call('setWebhook', { url: hookUrl, secret_token: 'Sec_ret-1' })).toEqual({ ok: true, result: true, description: 'Webhook was set' });
  const user = emulator.user({ id: 11 });
  const texts = ['one', 'two', 'three'];
  const sent = texts.map((text) => user.sendText(text));
  const deliveries = await receiver.received(3);
  expect(deliveries.map((d) => d.update.message)).toEqual(sent);
  for (const { headers } of deliveries) {
    expect(headers['x-telegram-bot-api-secret-token']).toBe('Sec_ret-1');
    expect(headers['content-type']).toBe('application/json');
  }
  await delivered(deliveries[2]!.update.update_id);
  expect((await call('getWebhookInfo')).result).toEqual({ url: hookUrl, has_custom_certificate: false, pending_update_count: 0, max_connections: 40 });
});

it('delivers different chats side by side, up to max_connections, each chat in order', async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  receiver.respond = async () => (await held, { status: 200 });
  await call('setWebhook', { url: hookUrl, max_connections: 3 });
  const users = [21, 22, 23, 24, 25].map((id) => emulator.user({ id }));
  const sent = users.flatMap((user) => [user.sendText('first'), user.sendText('second')]);
  // Three chats' first updates are out; nothing else goes while they are unanswered.
  const out = await receiver.received(3);
  expect(out.map((d) => d.update.message?.chat.id)).toEqual([21, 22, 23]);
  expect(out.every((d) => d.update.message?.text === 'first')).toBe(true);
  release();
  const deliveries = await receiver.received(sent.length);
  await delivered(Math.max(...deliveries.map((d) => d.update.update_id)));
  expect(receiver.mostOpen).toBe(3);
  for (const user of users) {
    expect(deliveries.filter((d) => d.update.message?.chat.id === user.id).map((d) => d.update.message?.text)).toEqual(['first', 'second']);
  }
  await waitFor(async () => (await call('getWebhookInfo')).result.pending_update_count === 0);
});

it('confirms an update answered early only with the ones before it, and never sends it again', async () => {
  let answerFirst!: () => void;
  const firstHeld = new Promise<void>((resolve) => (answerFirst = resolve));
  await call('setWebhook', { url: hookUrl });
  const [early, late] = [emulator.user({ id: 31 }), emulator.user({ id: 32 })];
  receiver.respond = async (update) => (update.message?.chat.id === early.id ? await firstHeld : undefined, { status: 200 });
  const lateAnswered = new Promise<void>((resolve) => {
    const listener = ({ update }: { update: Update }) => {
      if (update.message?.chat.id !== late.id) return;
      emulator.off('webhookDelivered', listener);
      resolve();
    };
    emulator.on('webhookDelivered', listener);
  });
  const first = early.sendText('slow to answer');
  const second = late.sendText('answered at once');
  await lateAnswered;
  // The later update was answered while the earlier is still out: Telegram confirms in
  // order, so both are still pending.
  expect((await call('getWebhookInfo')).result.pending_update_count).toBe(2);
  answerFirst();
  await waitFor(async () => (await call('getWebhookInfo')).result.pending_update_count === 0, { what: 'both confirmed' });
  expect(receiver.deliveries.map((d) => d.update.message?.message_id)).toEqual([first.message_id, second.message_id]);
});

it('retries a failed update before sending the next, and reports the failure', async () => {
  receiver.respond = (_update, attempt) => ({ status: attempt === 0 ? 500 : 200 });
  await call('setWebhook', { url: hookUrl });
  const user = emulator.user({ id: 12 });
  const first = user.sendText('first');
  const second = user.sendText('second');
  const deliveries = await receiver.received(4);
  expect(deliveries.map((d) => d.update.message?.message_id)).toEqual([first.message_id, first.message_id, second.message_id, second.message_id]);
  expect(deliveries[0]!.headers).not.toHaveProperty('x-telegram-bot-api-secret-token');
  await delivered(deliveries[3]!.update.update_id);
  const info = (await call('getWebhookInfo')).result;
  expect(info).toMatchObject({ pending_update_count: 0, last_error_message: 'Wrong response from the webhook: 500 Internal Server Error', last_error_date: expect.any(Number) });
});

it('keeps updates pending while the webhook cannot be reached', async () => {
  const deadUrl = `http://127.0.0.1:${await freePort()}/hook`;
  await call('setWebhook', { url: deadUrl });
  const failed = new Promise<{ error: string }>((resolve) => emulator.once('webhookFailed', resolve));
  emulator.user({ id: 13 }).sendText('anyone there?');
  expect((await failed).error).toBe('Connection refused');
  expect((await call('getWebhookInfo')).result).toMatchObject({ url: deadUrl, pending_update_count: 1, last_error_message: 'Connection refused' });
  // Deleting the webhook hands the update, still unconfirmed, to getUpdates.
  await call('deleteWebhook');
  expect((await call('getUpdates')).result.map((u: Update) => u.message?.text)).toEqual(['anyone there?']);
});

it('runs the method a webhook answers with, as Telegram does', async () => {
  receiver.respond = (update) => ({ status: 200, json: { method: 'sendMessage', chat_id: update.message?.chat.id, text: `echo: ${update.message?.text}` } });
  await call('setWebhook', { url: hookUrl });
  const user = emulator.user({ id: 14 });
  const reply = user.nextBotMessage();
  const replyCall = emulator.waitForCall('sendMessage');
  user.sendText('hi');
  expect((await reply).text).toBe('echo: hi');
  expect(await replyCall).toEqual(expect.objectContaining({ source: 'webhook-reply', params: { chat_id: 14, text: 'echo: hi' }, response: expect.objectContaining({ ok: true }) }));
  expect(user.botMessages().map((m) => m.text)).toEqual(['echo: hi']);
});

it('drops what was pending when asked to', async () => {
  const user = emulator.user({ id: 15 });
  user.sendText('old 1');
  user.sendText('old 2');
  await call('setWebhook', { url: hookUrl, drop_pending_updates: true });
  const fresh = user.sendText('new');
  const [first] = await receiver.received(1);
  expect(first!.update.message).toEqual(fresh);
});
