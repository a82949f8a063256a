import { request } from 'node:http';
import { FloodControl } from './bot-api/flood-control';
import { TelegramEmulator } from './index';

// Telegram having a bad day, over real HTTP: an outage answering 5xx until it ends, a server
// that accepts calls and never answers, one that cannot be reached at all, and flood limits.

const TOKEN = '424242:outage-test-token-for-the-emulator';
let emulator: TelegramEmulator;

// Each request on a connection of its own: a pooled one may predate a down() and be dead.
function raw(method: 'GET' | 'POST', path: string, body: unknown, signal?: AbortSignal): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
    const req = request(`${emulator.url}${path}`, { method, agent: false, headers, ...(signal ? { signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function call(method: string, params: Record<string, unknown> = {}, init: { signal?: AbortSignal } = {}): Promise<{ status: number; body: any }> {
  return raw('POST', `/bot${TOKEN}/${method}`, params, init.signal);
}

async function control(method: 'GET' | 'POST', path: string, body?: unknown): Promise<any> {
  const answer = await raw(method, `/__emulator${path}`, body);
  expect(answer.status).toBe(200);
  return answer.body;
}

beforeAll(async () => {
  emulator = new TelegramEmulator({ bots: [{ token: TOKEN }] });
  await emulator.start();
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

describe('an outage: every call answers an error until cleared', () => {
  it('fails every matching call, however many, and none after clearFaults()', async () => {
    const user = emulator.user({ id: 3001 });
    emulator.failUntilCleared('*', { errorCode: 500 });
    const answers = await Promise.all(Array.from({ length: 25 }, () => call('sendMessage', { chat_id: 3001, text: 'lost?' })));
    expect(new Set(answers.map((a) => `${a.status} ${a.body.description}`))).toEqual(new Set(['500 Internal Server Error']));
    expect((await call('getMe')).status).toBe(500);
    expect(user.botMessages()).toEqual([]);
    emulator.clearFaults();
    expect((await call('sendMessage', { chat_id: 3001, text: 'through' })).body.ok).toBe(true);
    expect(user.botMessages().map((m) => m.text)).toEqual(['through']);
  });

  it('is armed and cleared over the control API too', async () => {
    await control('POST', '/faults', { method: 'getMe', errorCode: 503, untilCleared: true });
    expect([(await call('getMe')).status, (await call('getMe')).status, (await call('getWebhookInfo')).status]).toEqual([503, 503, 200]);
    await control('POST', '/faults/clear');
    expect((await call('getMe')).status).toBe(200);
  });
});

describe('a hung server: calls accepted and never answered', () => {
  it('holds a call without carrying it out until the bot hangs up, and lists it meanwhile', async () => {
    const user = emulator.user({ id: 3002 });
    emulator.hang('sendMessage');
    const hangUp = new AbortController();
    const held = call('sendMessage', { chat_id: 3002, text: 'never' }, { signal: hangUp.signal });
    const hung = await emulator.waitForHungCall('sendMessage');
    expect(hung).toMatchObject({ method: 'sendMessage', params: { chat_id: 3002, text: 'never' }, ran: false });
    // Other methods are answered meanwhile.
    expect((await call('getMe')).status).toBe(200);
    expect(await control('GET', '/hung-calls?method=sendMessage')).toEqual([expect.objectContaining({ method: 'sendMessage', ran: false })]);
    hangUp.abort();
    await expect(held).rejects.toThrow();
    await waitUntil(() => emulator.hungCalls().length === 0);
    expect(user.botMessages()).toEqual([]);
    expect(emulator.calls('sendMessage')).toEqual([]);
  });

  it('with afterRunning, carries the call out (it is in the chat and the log) and loses the answer', async () => {
    const user = emulator.user({ id: 3003 });
    await control('POST', '/faults', { method: 'sendMessage', hang: true, afterRunning: true });
    const hangUp = new AbortController();
    const held = call('sendMessage', { chat_id: 3003, text: 'delivered, unanswered' }, { signal: hangUp.signal });
    await emulator.waitForHungCall('sendMessage', (c) => c.ran);
    expect(user.botMessages().map((m) => m.text)).toEqual(['delivered, unanswered']);
    expect(emulator.calls('sendMessage').map((c) => c.response.ok)).toEqual([true]);
    hangUp.abort();
    await expect(held).rejects.toThrow();
  });

  it('lets held calls go when the emulator stops, and a cleared hang holds no new call', async () => {
    emulator.hang('*');
    const held = emulator.callApi(TOKEN, 'getMe');
    await emulator.waitForHungCall('getMe');
    emulator.clearFaults();
    expect((await call('getMe')).status).toBe(200);
    expect(emulator.hungCalls()).toHaveLength(1);
    await emulator.down();
    expect((await held).status).toBe(504);
    expect(emulator.hungCalls()).toEqual([]);
    await emulator.up();
  });
});

describe('down: the server cannot be reached', () => {
  it('refuses connections until up(), then answers on the same url with everything kept', async () => {
    const user = emulator.user({ id: 3004 });
    await call('sendMessage', { chat_id: 3004, text: 'before' });
    const url = emulator.url;
    await emulator.down();
    expect(await freshCall(`${url}/bot${TOKEN}/getMe`)).toBe('ECONNREFUSED');
    const { url: again } = await emulator.up();
    expect(again).toBe(url);
    expect(await freshCall(`${url}/bot${TOKEN}/sendMessage?chat_id=3004&text=after`)).toBe(200);
    expect(user.botMessages().map((m) => m.text)).toEqual(['before', 'after']);
  });
});

/** A call on a connection of its own (a pooled one may predate the outage): its status or error code. */
function freshCall(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

describe('flood limits', () => {
  it('answers 429 to a message in a chat within the interval of its last one; other calls are not counted', async () => {
    const user = emulator.user({ id: 3005 });
    emulator.setFloodLimits({ chatIntervalMs: 60_000 });
    expect((await call('sendMessage', { chat_id: 3005, text: 'one' })).body.ok).toBe(true);
    const refused = await call('sendMessage', { chat_id: 3005, text: 'two' });
    expect(refused).toEqual({ status: 429, body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } } });
    expect((await call('editMessageText', { chat_id: 3005, message_id: user.botMessages()[0]!.message_id, text: 'edited' })).status).toBe(429);
    expect((await call('getMe')).status).toBe(200);
    expect((await call('sendMessage', { chat_id: 3006, text: 'another chat' })).status).toBe(400);
    expect(user.botMessages().map((m) => m.text)).toEqual(['one']);
    await control('POST', '/flood-limits', { off: true });
    expect((await call('sendMessage', { chat_id: 3005, text: 'unlimited' })).status).toBe(200);
  });

  it('counts per bot in a sliding second and per chat by the gap since its last message', () => {
    const flood = new FloodControl();
    flood.set({ perSecond: 3, chatIntervalMs: 1000 });
    const send = (chat: number, at: number) => flood.admit(1, 'sendMessage', { chat_id: chat }, at)?.errorCode ?? 200;
    expect([send(1, 0), send(2, 100), send(3, 200), send(4, 300), send(5, 999)]).toEqual([200, 200, 200, 429, 429]);
    // The first of the three is a second old: room for one more.
    expect([send(5, 1000), send(6, 1001)]).toEqual([200, 429]);
    expect([send(1, 1500), send(1, 2400), send(1, 2500)]).toEqual([200, 429, 200]);
    expect(flood.admit(1, 'sendChatAction', { chat_id: 1 }, 2501)).toBeUndefined();
    expect(flood.admit(1, 'deleteMessage', { chat_id: 1 }, 2502)).toBeUndefined();
  });
});

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
