import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { Script } from 'node:vm';
import { waitFor } from '@dwld/testkit';
import { TelegramEmulator } from '../index';
import type { Message } from '../types';

// The web chat page over real HTTP: its files, and the Server-Sent Events stream it lives on.

const TOKEN = '4242:web-chat-token';

interface StreamEvent {
  type: string;
  data: any;
}

/** A Server-Sent Events client, recording every event it receives. */
class EventStreamClient {
  readonly events: StreamEvent[] = [];
  closed = false;
  private buffer = '';

  private constructor(
    private readonly request: ClientRequest,
    readonly response: IncomingMessage,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.receive(chunk));
    response.on('close', () => {
      this.closed = true;
    });
    response.on('error', () => undefined);
  }

  static open(url: string): Promise<EventStreamClient> {
    return new Promise((resolve, reject) => {
      // A connection of its own (no agent), so closing it is a real hang-up.
      const request = httpRequest(url, { agent: false, headers: { accept: 'text/event-stream' } }, (response) => resolve(new EventStreamClient(request, response)));
      request.on('error', reject);
      request.end();
    });
  }

  /** The first event received of this type (and matching), waiting for it. */
  event(type: string, match: (data: any) => boolean = () => true): Promise<any> {
    return waitFor(() => this.events.find((event) => event.type === type && match(event.data))?.data, { what: `a "${type}" event`, timeout: 5_000 });
  }

  types(): string[] {
    return this.events.map((event) => event.type);
  }

  close(): void {
    this.request.destroy();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let type = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) type = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) this.events.push({ type, data: JSON.parse(data.join('\n')) });
    }
  }
}

let emulator: TelegramEmulator;
const streams: EventStreamClient[] = [];

async function openStream(query: string, on: TelegramEmulator = emulator): Promise<EventStreamClient> {
  const stream = await EventStreamClient.open(`${on.url}/__emulator/stream?${query}`);
  streams.push(stream);
  return stream;
}

async function botApi(method: string, params: Record<string, unknown> = {}, token = TOKEN, on: TelegramEmulator = emulator): Promise<any> {
  const response = await fetch(`${on.url}/bot${token}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) });
  const body = (await response.json()) as { ok: boolean; result?: unknown; description?: string };
  if (!body.ok) throw new Error(`${method}: ${body.description}`);
  return body.result;
}

async function control(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${emulator.url}/__emulator${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

const LISTENED = ['chat', 'callbackAnswer', 'bot', 'reset'] as const;
const listenerCounts = (on: TelegramEmulator = emulator) => LISTENED.map((event) => on.listenerCount(event));

beforeAll(async () => {
  emulator = new TelegramEmulator({ bots: [{ token: TOKEN, firstName: 'Web bot', username: 'web_chat_bot' }] });
  await emulator.start();
});

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  // Every test starts with no stream left listening.
  await waitFor(() => listenerCounts().every((count) => count === 0), { what: 'the streams of the last test gone' });
  emulator.reset();
});

afterAll(() => emulator.stop());

describe('the page', () => {
  it('is served with its own script and style only, under a strict Content-Security-Policy', async () => {
    const page = await fetch(`${emulator.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);

    const html = await page.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map(([, attributes]) => /src="([^"]+)"/.exec(attributes ?? '')?.[1])).toEqual(['/render.js', '/app.js']);
    expect(scripts.every(([, , body]) => body === '')).toBe(true);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).toContain('<link rel="stylesheet" href="/style.css">');

    for (const [path, type] of [
      ['/app.js', 'text/javascript; charset=utf-8'],
      ['/render.js', 'text/javascript; charset=utf-8'],
      ['/style.css', 'text/css; charset=utf-8'],
    ] as const) {
      const response = await fetch(`${emulator.url}${path}`);
      expect([path, response.status, response.headers.get('content-type'), response.headers.get('x-content-type-options')]).toEqual([path, 200, type, 'nosniff']);
      const body = await response.text();
      // The scripts are served as they are: they must at least parse.
      if (path.endsWith('.js')) expect(() => new Script(body, { filename: path })).not.toThrow();
    }
    expect((await fetch(`${emulator.url}/favicon.ico`)).status).toBe(204);
  });

  it('offers the default people, or the host’s', async () => {
    expect((await control('GET', '/people')).json).toEqual([
      { id: 100, firstName: 'Admin', label: 'Admin', phone: '+15550100100' },
      { id: 200, firstName: 'Alice', label: 'User', phone: '+15550100200' },
      { id: 201, firstName: 'Bob', label: 'User', phone: '+15550100201' },
      { id: 999, firstName: 'Stranger', label: 'Stranger', phone: '+15550100999' },
    ]);

    const custom = new TelegramEmulator({ people: [{ id: 7, firstName: 'Root', username: 'root', label: 'Admin' }, { id: 8 }] });
    expect(custom.people()).toEqual([
      { id: 7, firstName: 'Root', username: 'root', label: 'Admin' },
      { id: 8, firstName: 'User 8', label: 'User' },
    ]);
    expect(custom.addPerson({ id: 8, firstName: 'Eve', label: 'Stranger', languageCode: 'ru' })).toEqual({ id: 8, firstName: 'Eve', label: 'Stranger', languageCode: 'ru' });
    expect(custom.people().map((person) => person.firstName)).toEqual(['Root', 'Eve']);
    expect(() => custom.addPerson({ id: -1 })).toThrow(/positive integer/);

    const added = await control('POST', '/people', { id: 300, firstName: 'Carol', phone: '+1', label: 'User' });
    expect(added.json).toEqual({ id: 300, firstName: 'Carol', phone: '+1', label: 'User' });
    expect((await control('GET', '/people')).json.map((person: { id: number }) => person.id)).toEqual([100, 200, 201, 999, 300]);
  });

  it('gives emulator.user() a person’s name and phone unless told otherwise', () => {
    expect(emulator.user({ id: 201 }).profile).toEqual({ id: 201, firstName: 'Bob', phone: '+15550100201' });
    expect(emulator.user({ id: 999, firstName: 'Eve' }).profile).toEqual({ id: 999, firstName: 'Eve', phone: '+15550100999' });
    // Once registered, a person's profile is theirs: the defaults no longer apply.
    expect(emulator.user({ id: 999 }).profile.firstName).toBe('Eve');
  });
});

describe('the chat stream', () => {
  it('starts with a snapshot, then shows the bot sending, editing and deleting, live', async () => {
    const alice = emulator.user({ id: 200 });
    const hello = alice.sendText('hello');
    const stream = await openStream('chat=200');
    const snapshot = await stream.event('snapshot');
    expect(snapshot).toEqual({
      type: 'snapshot',
      bot: expect.objectContaining({ id: 4242, username: 'web_chat_bot' }),
      bots: [expect.objectContaining({ id: 4242 })],
      person: { id: 200, firstName: 'Alice', label: 'User', phone: '+15550100200' },
      messages: [hello],
      replyKeyboard: null,
    });

    // Another person's chat stays out of this stream.
    emulator.user({ id: 201 });
    await botApi('sendMessage', { chat_id: 201, text: 'for Bob' });
    const sent: Message = await botApi('sendMessage', {
      chat_id: 200,
      text: '<b>Pick</b> one',
      parse_mode: 'HTML',
      reply_markup: { inline_keyboard: [[{ text: '720p', callback_data: 'q:720' }]] },
    });
    expect(await stream.event('message', (e) => e.message.message_id === sent.message_id)).toEqual({ type: 'message', message: sent });

    const edited: Message = await botApi('editMessageText', { chat_id: 200, message_id: sent.message_id, text: 'Done' });
    expect(await stream.event('edit')).toEqual({ type: 'edit', message: edited });
    expect(edited.reply_markup).toBeUndefined();

    await botApi('deleteMessage', { chat_id: 200, message_id: sent.message_id });
    expect(await stream.event('delete')).toEqual({ type: 'delete', messageId: sent.message_id });
    expect(stream.types()).toEqual(['snapshot', 'message', 'edit', 'delete']);
  });

  it('shows what the person does through the control API: text, keyboard buttons, contacts', async () => {
    const stream = await openStream('chat=100');
    // Admin has not written yet: an empty chat, and the bot cannot write first.
    expect((await stream.event('snapshot')).messages).toEqual([]);

    const said = await control('POST', '/users/100/messages', { text: 'https://youtube.com/watch?v=1 /start' });
    expect(said.status).toBe(200);
    expect(await stream.event('message')).toEqual({ type: 'message', message: said.json });
    expect(said.json.from).toMatchObject({ id: 100, first_name: 'Admin', is_bot: false });

    await botApi('sendMessage', {
      chat_id: 100,
      text: 'Who are you?',
      reply_markup: { keyboard: [[{ text: '📱 Share my contact', request_contact: true }], [{ text: 'Nobody' }]], one_time_keyboard: true },
    });
    const keyboard = await stream.event('keyboard');
    expect(keyboard.replyKeyboard).toEqual({ keyboard: [[{ text: '📱 Share my contact', request_contact: true }], [{ text: 'Nobody' }]], one_time_keyboard: true });

    const shared = await control('POST', '/users/100/keyboard', { text: '📱 Share my contact' });
    expect(shared.json.contact).toEqual({ phone_number: '+15550100100', first_name: 'Admin', user_id: 100 });
    const pressed = await control('POST', '/users/100/keyboard', { text: 'Nobody' });
    expect(pressed.json.text).toBe('Nobody');
    expect((await control('POST', '/users/100/keyboard', { text: 'Somebody' })).json.error).toMatch(/No keyboard button "Somebody"/);

    const card = await control('POST', '/users/100/contact', { phoneNumber: '+4400', firstName: 'Carol', userId: null });
    expect(card.json.contact).toEqual({ phone_number: '+4400', first_name: 'Carol' });
    // The card's name is not the sender's.
    expect(card.json.from.first_name).toBe('Admin');

    await botApi('sendMessage', { chat_id: 100, text: 'Thanks', reply_markup: { remove_keyboard: true } });
    await stream.event('keyboard', (e) => e.replyKeyboard === null);
    await waitFor(() => stream.events.filter((e) => e.type === 'message').length === 6, { what: 'six messages' });
    expect(stream.events.filter((e) => e.type === 'message').map((e) => e.data.message.text ?? e.data.message.contact.phone_number)).toEqual([
      'https://youtube.com/watch?v=1 /start',
      'Who are you?',
      '+15550100100',
      'Nobody',
      '+4400',
      'Thanks',
    ]);
  });

  it('tells the page what the bot answered to a pressed button', async () => {
    emulator.user({ id: 201 });
    const stream = await openStream('chat=201');
    await stream.event('snapshot');
    const sent: Message = await botApi('sendMessage', { chat_id: 201, text: 'Pick', reply_markup: { inline_keyboard: [[{ text: 'A', callback_data: 'a' }]] } });
    const pressed = await control('POST', '/users/201/callback', { messageId: sent.message_id, data: 'a' });
    await botApi('answerCallbackQuery', { callback_query_id: pressed.json.id, text: 'A it is', show_alert: true });
    expect(await stream.event('callbackAnswer')).toEqual({
      type: 'callbackAnswer',
      callbackQueryId: pressed.json.id,
      messageId: sent.message_id,
      answer: { text: 'A it is', show_alert: true },
    });
  });

  it('sends a fresh snapshot after a reset, and when the first bot appears', async () => {
    const lonely = new TelegramEmulator();
    await lonely.start();
    try {
      const stream = await openStream('chat=999', lonely);
      expect(await stream.event('snapshot')).toMatchObject({ bot: null, bots: [], messages: [], person: { id: 999, label: 'Stranger' } });
      await botApi('getMe', {}, '777:first-bot', lonely);
      await waitFor(() => stream.events.filter((e) => e.type === 'snapshot').length === 2, { what: 'a second snapshot' });
      expect(stream.events[1]?.data).toMatchObject({ bot: { id: 777 }, bots: [{ id: 777 }] });

      lonely.user({ id: 999 }).sendText('hi');
      await stream.event('message');
      lonely.reset();
      await waitFor(() => stream.events.filter((e) => e.type === 'snapshot').length === 3, { what: 'a third snapshot' });
      expect(stream.events.at(-1)?.data).toMatchObject({ bot: { id: 777 }, messages: [] });
    } finally {
      await lonely.stop();
    }
  });

  it('follows the bot it is told to, and refuses unknown people and bots', async () => {
    emulator.addBot('5151:other-bot', { username: 'other_bot' });
    const stream = await openStream('chat=200&bot=5151');
    expect((await stream.event('snapshot')).bot).toMatchObject({ id: 5151, username: 'other_bot' });
    emulator.user({ id: 200 });
    await botApi('sendMessage', { chat_id: 200, text: 'from the first bot' });
    await botApi('sendMessage', { chat_id: 200, text: 'from the other bot' }, '5151:other-bot');
    expect((await stream.event('message')).message.text).toBe('from the other bot');
    expect(stream.types()).toEqual(['snapshot', 'message']);

    for (const query of ['chat=12345', 'chat=abc', '', 'chat=200&bot=9999']) {
      const response = await fetch(`${emulator.url}/__emulator/stream?${query}`);
      expect([query, response.status]).toEqual([query, 404]);
      expect(((await response.json()) as { error: unknown }).error).toEqual(expect.any(String));
    }
  });

  it('stops listening once the page goes away', async () => {
    const baseline = listenerCounts();
    const opened = await Promise.all([openStream('chat=100'), openStream('chat=200'), openStream('chat=200')]);
    await Promise.all(opened.map((stream) => stream.event('snapshot')));
    expect(listenerCounts()).toEqual(baseline.map((count) => count + 3));

    opened[0]!.close();
    await waitFor(() => listenerCounts()[0] === baseline[0]! + 2, { what: 'one stream’s listeners removed' });
    for (const stream of opened) stream.close();
    await waitFor(() => listenerCounts().every((count, i) => count === baseline[i]), { what: 'the listeners removed' });
  });

  it('ends its streams when the emulator stops', async () => {
    const other = new TelegramEmulator();
    await other.start();
    const baseline = listenerCounts(other);
    const stream = await openStream('chat=100', other);
    await stream.event('snapshot');
    await other.stop();
    await waitFor(() => stream.closed, { what: 'the stream closed' });
    // Ended properly (the last chunk sent), so a browser reconnects without complaint.
    expect(stream.response.complete).toBe(true);
    expect(listenerCounts(other)).toEqual(baseline);
  });
});
