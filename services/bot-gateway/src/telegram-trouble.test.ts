import type { TelegramEmulator } from '@dwld/telegram-emulator';
import { freePort, waitFor } from '@dwld/testkit';
import { ADMIN, ALICE, API_TOKEN, startHarness, type Harness } from './testing/harness';

// The gateway starting while Telegram cannot be reached or rate-limits getMe: it must come up
// (no crash loop), take links over HTTP, receive nothing until Telegram answers, then catch up.
// And a chat flooding the bot: its waiting replies stay bounded.
describe('gateway when Telegram is away or a chat floods it (Bot API emulator)', () => {
  let h: Harness;
  let emulator: TelegramEmulator;
  beforeAll(async () => {
    h = await startHarness();
    ({ emulator } = h);
  });
  afterEach(() => emulator.clearFaults());
  afterAll(() => h.stop());

  const readiness = async (port: number) => {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) as { status: string; checks: Record<string, string> } };
  };
  const postLink = (port: number, link: string) =>
    fetch(`http://127.0.0.1:${port}/links`, { method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}` }, body: JSON.stringify({ links: [{ link }] }) });

  it.each([
    ['answers 429 to getMe', async () => emulator.failUntilCleared('getMe', { errorCode: 429, retryAfter: 1 }), async () => emulator.clearFaults()],
    ['cannot be reached', () => emulator.down(), async () => void (await emulator.up())],
  ])('starts while Telegram %s, ready with Telegram reported (no URL), receiving nothing until it answers', async (what, breakTelegram, mendTelegram) => {
    const token = what.startsWith('answers') ? '2233445:start-while-rate-limited-emulated' : '3344556:start-while-unreachable-emulated';
    const prefix = `${h.ns.prefix}-${token.split(':')[0]}`;
    // The admin owns links added over HTTP: their chat with this bot exists.
    emulator.user({ id: ADMIN, bot: token });
    await breakTelegram();
    let started: Awaited<ReturnType<Harness['startGateway']>>;
    try {
      started = await h.startGateway({ TELEGRAM_BOT_TOKEN: token, STREAM_PREFIX: prefix, TELEGRAM_RETRY_CAP_S: '0.5' });
    } catch (err) {
      await mendTelegram();
      throw err;
    }
    const { app, httpPort } = started;
    expect(app.receivingUpdates).toBe(false);
    const ready = await readiness(httpPort);
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toMatchObject({ database: 'ok', redis: 'ok', telegram: expect.stringMatching(/^failing: (not reached yet|since \S+: (ECONNREFUSED|HTTP 429))$/) });
    expect(ready.text).not.toMatch(/https?:|127\.0\.0\.1|\/bot/);
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
    // Links over HTTP are taken meanwhile; their replies wait in the outbox.
    const accepted = await postLink(httpPort, `https://vimeo.com/while-${token.split(':')[0]}`);
    expect(accepted.status).toBe(200);
    expect(((await accepted.json()) as { results: unknown[] }).results).toEqual([expect.objectContaining({ status: 'queued' })]);

    expect(emulator.calls('getUpdates').filter((c) => c.botId === Number(token.split(':')[0]))).toEqual([]);

    await mendTelegram();
    const alice = emulator.user({ id: ALICE, bot: token });
    await waitFor(() => app.receivingUpdates, { what: 'the gateway receiving once Telegram answers', timeout: 15_000 });
    await alice.sendText(`https://youtu.be/after-${token.split(':')[0]}`);
    await alice.nextBotMessage((m) => (m.text ?? '').includes(`after-${token.split(':')[0]}`), 15_000);
    // The API link's card reached the admin's chat.
    await waitFor(() => emulator.calls('sendMessage').some((c) => c.response.ok && String(c.params.text).includes(`while-${token.split(':')[0]}`)), { what: 'the API link’s card sent', timeout: 15_000 });
    await waitFor(async () => (await readiness(httpPort)).body.checks.telegram === 'ok', { what: 'Telegram reported reachable' });
  });

  it('in webhook mode, refuses updates with 503 until Telegram answers, then sets its webhook', async () => {
    const token = '5566778:webhook-while-unreachable-emulated';
    const port = await freePort();
    const secret = 'webhook-secret-while-down-0123';
    await emulator.down();
    let started: Awaited<ReturnType<Harness['startGateway']>>;
    try {
      started = await h.startGateway({ TELEGRAM_BOT_TOKEN: token, STREAM_PREFIX: `${h.ns.prefix}-hook`, HTTP_PORT: String(port), WEBHOOK_URL: `http://127.0.0.1:${port}/telegram/hook`, WEBHOOK_SECRET: secret, TELEGRAM_RETRY_CAP_S: '0.5' });
      expect(started.app.receivingUpdates).toBe(false);
      const update = { update_id: 1, message: { message_id: 1, date: 0, chat: { id: ALICE, type: 'private' }, from: { id: ALICE, is_bot: false, first_name: 'Alice' }, text: 'https://vimeo.com/too-early' } };
      const early = await fetch(`http://127.0.0.1:${port}/telegram/hook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret }, body: JSON.stringify(update) });
      // Telegram is told to deliver it again later; nothing was handled.
      expect(early.status).toBe(503);
    } finally {
      await emulator.up();
    }
    expect(await h.db.link.count({ where: { url: 'https://vimeo.com/too-early' } })).toBe(0);
    await waitFor(() => emulator.webhookInfo(token).url === `http://127.0.0.1:${port}/telegram/hook`, { what: 'the webhook set once Telegram answers', timeout: 15_000 });
    expect(started!.app.receivingUpdates).toBe(true);
  });

  it('leaves a bounded backlog after a flood from one chat: only the newest service reply of a kind, every link’s card', async () => {
    const token = '4455667:busy-chat-flood-bot-emulated';
    const { app, httpPort } = await h.startGateway({ TELEGRAM_BOT_TOKEN: token, STREAM_PREFIX: `${h.ns.prefix}-busy`, TELEGRAM_CHAT_INTERVAL_S: '1', ALLOWED_IDS: String(ALICE) });
    const alice = emulator.user({ id: ALICE, bot: token });
    const stranger = emulator.user({ id: 998, bot: token });
    const links = ['https://vimeo.com/busy-1', 'https://vimeo.com/busy-2', 'https://vimeo.com/busy-3'];
    for (let i = 0; i < 150; i++) {
      await alice.sendText(`chatter ${i}`);
      await stranger.sendText(`let me in ${i}`);
      if (i % 50 === 0) await alice.sendText(links[i / 50]!);
    }
    const handled = async () => {
      const body = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      return body.split('\n').filter((l) => l.startsWith('dwld_updates_total{')).reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    };
    await waitFor(async () => (await handled()) >= 303, { what: 'every update handled', timeout: 30_000 });
    // Today's replies to 303 updates at one a second per chat would be minutes of backlog; what is
    // left is Alice's cards, one "no link" and one "access denied" (and those on their way).
    expect(await app.outbox.backlog()).toBeLessThanOrEqual(links.length + 4);
    await waitFor(() => links.every((l) => alice.botMessages().some((m) => (m.text ?? '').includes(l))), { what: 'every card', timeout: 20_000 });
    await waitFor(async () => (await app.outbox.backlog()) === 0, { what: 'the backlog gone', timeout: 20_000 });
    const noLinks = alice.botMessages().filter((m) => !links.some((l) => (m.text ?? '').includes(l)));
    expect(noLinks.length).toBeLessThan(10);
    expect(stranger.botMessages().length).toBeLessThan(10);
    expect(stranger.botMessages().at(-1)!.text).toContain('Access denied');
  });
});
