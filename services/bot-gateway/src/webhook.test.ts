import { freePort, waitFor } from '@dwld/testkit';
import { ALICE, startHarness, type Harness } from './testing/harness';

describe('webhook mode (WEBHOOK_URL set)', () => {
  let h: Harness;
  let port: number;
  const secret = 'webhook-secret-for-tests-42';

  beforeAll(async () => {
    port = await freePort();
    h = await startHarness({ WEBHOOK_URL: `http://127.0.0.1:${port}/telegram/hook`, WEBHOOK_SECRET: secret, HTTP_PORT: String(port) });
  });
  afterAll(() => h.stop());

  it('registers the webhook with its secret and handles updates pushed to it', async () => {
    expect(h.emulator.webhookInfo()).toMatchObject({ url: `http://127.0.0.1:${port}/telegram/hook` });
    expect(h.emulator.isPolling()).toBe(false);
    const alice = h.emulator.user({ id: ALICE });
    await alice.sendText('https://youtube.com/watch?v=hooked');
    const reply = await alice.nextBotMessage((m) => (m.text ?? '').includes('hooked'));
    expect(reply.text).toContain('Queued');
    await waitFor(async () => (await h.db.link.count({ where: { url: 'https://youtube.com/watch?v=hooked' } })) === 1);
  });

  it('refuses webhook requests without the secret header, or with a wrong one, and stores nothing', async () => {
    const update = {
      update_id: 999_001,
      message: { message_id: 5, date: 1, chat: { id: ALICE, type: 'private' }, from: { id: ALICE, is_bot: false, first_name: 'A' }, text: 'https://youtube.com/watch?v=forged', entities: [{ type: 'url', offset: 0, length: 33 }] },
    };
    const url = `http://127.0.0.1:${port}/telegram/hook`;
    const bare = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(update) });
    const wrong = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'nope' }, body: JSON.stringify(update) });
    expect(bare.status).toBe(403);
    expect(wrong.status).toBe(403);
    expect(await h.db.link.count({ where: { url: { contains: 'forged' } } })).toBe(0);
  });

  it('refuses a body that is not an update (not JSON, no update_id, too large) with a clear status, and stores nothing', async () => {
    const post = (body: string) =>
      fetch(`http://127.0.0.1:${port}/telegram/hook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret }, body });
    const link = 'https://youtube.com/watch?v=not-an-update';
    const message = { message_id: 7, date: 1, chat: { id: ALICE, type: 'private' }, from: { id: ALICE, is_bot: false, first_name: 'A' }, text: link, entities: [{ type: 'url', offset: 0, length: link.length }] };
    const notJson = await post(`{"update_id": 999003, "message": ${JSON.stringify(message)}`);
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: expect.stringContaining('not a Telegram update') });
    expect((await post(JSON.stringify({ message }))).status).toBe(400);
    expect((await post(JSON.stringify({ update_id: '999004', message }))).status).toBe(400);
    expect((await post(JSON.stringify([{ update_id: 999_005, message }]))).status).toBe(400);
    const tooLarge = await post(JSON.stringify({ update_id: 999_006, message: { ...message, text: `${link} ${'x'.repeat(1024 * 1024)}` } }));
    expect(tooLarge.status).toBe(413);
    // The rest of that body was never read: the connection is closed, not offered for the next request.
    expect(tooLarge.headers.get('connection')).toBe('close');
    expect(await h.db.link.count({ where: { url: { contains: 'not-an-update' } } })).toBe(0);
    // The same message as a proper update still goes in.
    expect((await post(JSON.stringify({ update_id: 999_007, message }))).status).toBe(200);
    await waitFor(async () => (await h.db.link.count({ where: { url: link } })) === 1);
  });

  it('handles an update Telegram delivers twice only once: one link, one reply', async () => {
    const text = 'https://youtube.com/watch?v=twice';
    const update = {
      update_id: 999_002,
      message: { message_id: 6, date: Math.floor(Date.now() / 1000), chat: { id: ALICE, type: 'private' }, from: { id: ALICE, is_bot: false, first_name: 'A' }, text, entities: [{ type: 'url', offset: 0, length: text.length }] },
    };
    const post = () =>
      fetch(`http://127.0.0.1:${port}/telegram/hook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
        body: JSON.stringify(update),
      });
    const alice = h.emulator.user({ id: ALICE });
    const replied = alice.nextBotMessage((m) => (m.text ?? '').includes('twice'));
    expect((await post()).status).toBe(200);
    await replied;
    // As if the first answer had been lost: Telegram sends the same update again.
    expect((await post()).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/dwld_updates_total\{[^}]*type="redelivered"[^}]*\} 1/);
    expect(await h.db.link.count({ where: { url: text } })).toBe(1);
    expect(alice.botMessages().filter((m) => (m.text ?? '').includes('twice'))).toHaveLength(1);
  });

  // A crash after handling a message but before marking it handled: Telegram delivers it again
  // and the gateway handles it again. The person must not hear about it twice.
  describe('a message delivered again after a crash before it was marked handled', () => {
    // Never marked handled: as after the crash.
    let nextUpdateId = 999_100;
    const deliverAgain = (message: object) =>
      fetch(`http://127.0.0.1:${port}/telegram/hook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
        body: JSON.stringify({ update_id: nextUpdateId++, message }),
      });
    /** Every message the bot sent (deleted ones too) that mentions `what`. */
    const sentAbout = (what: string) => h.emulator.calls().filter((c) => c.method === 'sendMessage' && String(c.params.text ?? '').includes(what));
    /** One chat's answers go out in order: once this one is there, every earlier one was sent. */
    async function everyEarlierAnswerSent() {
      const marker = await h.emulator.user({ id: ALICE }).sendText('no link here');
      const answersMarker = (c: { method: string; params: Record<string, unknown> }) =>
        c.method === 'sendMessage' && (c.params.reply_parameters as { message_id?: number } | undefined)?.message_id === marker.message_id;
      await waitFor(() => h.emulator.calls().some(answersMarker), { what: 'the answer to the marker message' });
    }

    /** Alice sends a link and gets its "queued" reply: the first, normal handling. */
    async function sentAndAnswered(text: string) {
      const alice = h.emulator.user({ id: ALICE });
      const replied = alice.nextBotMessage((m) => (m.text ?? '').includes(text));
      const message = await alice.sendText(text);
      await replied;
      return message;
    }

    it('does not send the "queued" reply again while the link waits', async () => {
      const text = 'https://youtube.com/watch?v=crash-before-mark';
      const message = await sentAndAnswered(text);
      expect((await deliverAgain(message)).status).toBe(200);
      await everyEarlierAnswerSent();
      expect(sentAbout('crash-before-mark')).toHaveLength(1);
      expect(await h.db.link.count({ where: { url: text } })).toBe(1);
    });

    it('sends the "queued" reply the crash kept from being sent, once', async () => {
      const text = 'https://youtube.com/watch?v=stored-not-answered';
      const alice = h.emulator.user({ id: ALICE });
      const plain = await alice.sendText('plain words first');
      await everyEarlierAnswerSent();
      // The crash came between storing the link and queueing its reply.
      await h.db.link.create({ data: { url: text, host: 'youtube.com', chatId: BigInt(ALICE), userId: BigInt(ALICE), quality: '1080', messageId: plain.message_id, sendAt: new Date(Date.now() + 60_000) } });
      const message = { ...plain, text, entities: [{ type: 'url', offset: 0, length: text.length }] };
      expect((await deliverAgain(message)).status).toBe(200);
      expect((await deliverAgain(message)).status).toBe(200);
      await everyEarlierAnswerSent();
      expect(sentAbout('stored-not-answered').map((c) => String(c.params.text))).toEqual([expect.stringContaining('Queued')]);
      expect(await h.db.link.count({ where: { url: text } })).toBe(1);
    });

    it('says nothing more once its link was handed over: the dispatch result tells the person', async () => {
      const text = 'https://youtube.com/watch?v=handed-over-meanwhile';
      const message = await sentAndAnswered(text);
      // A scheduler took it meanwhile: the row left the queue, the history keeps the message.
      const link = await h.db.link.findFirstOrThrow({ where: { url: text } });
      await h.db.link.delete({ where: { id: link.id } });
      await h.db.dispatch.create({ data: { linkId: link.id, url: text, host: link.host, userId: link.userId, chatId: link.chatId, downloader: 'nas', quality: link.quality, messageId: message.message_id, attempts: 1, sendAt: link.sendAt } });
      expect((await deliverAgain(message)).status).toBe(200);
      await everyEarlierAnswerSent();
      // Only the "queued" reply: no "already taken" besides the dispatch result's message.
      expect(sentAbout('handed-over-meanwhile').map((c) => String(c.params.text))).toEqual([expect.stringContaining('Queued')]);
      expect(await h.db.link.count({ where: { url: text } })).toBe(0);
    });
  });
});
