import { Telegram } from 'telegraf';
import { PassThrough } from 'node:stream';
import { createLogger, silentLogger } from '@dwld/logger';
import { createMetricsRegistry } from '@dwld/runtime';
import { TelegramEmulator } from '@dwld/telegram-emulator';
import { createRedisNamespace, waitFor, type RedisNamespace } from '@dwld/testkit';
import { Redis } from 'ioredis';
import { outboxLimiter, retryDelayMs, TelegramOutbox, type OutboxOptions } from './outbox';
import { TimedTelegram } from './timed-telegram';

const TOKEN = '2345678:outbox-test-token-for-the-emulator';

describe('TelegramOutbox (BullMQ on real Redis, Bot API emulator)', () => {
  let emulator: TelegramEmulator;
  let apiRoot: string;
  let telegram: Telegram;
  let ns: RedisNamespace;
  const connections: Redis[] = [];
  const outboxes: TelegramOutbox[] = [];

  beforeAll(async () => {
    emulator = new TelegramEmulator();
    const { url } = await emulator.start();
    apiRoot = url;
    emulator.addBot(TOKEN);
    telegram = new Telegram(TOKEN, { apiRoot: url });
    ns = await createRedisNamespace('outbox');
  });
  afterEach(() => {
    emulator.clearFaults();
    emulator.setFloodLimits(undefined);
  });
  afterAll(async () => {
    for (const outbox of outboxes) await outbox.stop();
    connections.forEach((c) => c.disconnect());
    await emulator.stop();
    await ns.cleanup();
  });

  // Each test its own queue (prefix), so no other test's worker takes its jobs.
  function outbox(queue: string, replies: Array<[number, number]> = [], maxPerSecond = 30, overrides: Partial<OutboxOptions> = {}) {
    const redis = new Redis(ns.url, { maxRetriesPerRequest: 2 });
    connections.push(redis);
    const box = new TelegramOutbox({
      redis,
      prefix: `${ns.prefix}-${queue}`,
      telegram,
      logger: silentLogger(),
      metrics: createMetricsRegistry('outbox-test'),
      maxPerSecond,
      chatIntervalMs: 20,
      onLinkReplySent: async (linkId, messageId) => (replies.push([linkId, messageId]), linkId !== 404),
      ...overrides,
    });
    outboxes.push(box);
    return box;
  }

  it('never sends more than maxPerSecond in any sliding second, whatever the backlog', async () => {
    const box = outbox('limit', [], 10);
    const chats = Array.from({ length: 35 }, (_, i) => 7000 + i);
    for (const chat of chats) await emulator.user({ id: chat, bot: TOKEN }).sendText('hi');
    const since = Date.now();
    await Promise.all(chats.map((chat) => box.send({ chatId: String(chat), text: `burst to ${chat}` })));
    box.startWorker();
    const sent = () => emulator.calls().filter((c) => c.method === 'sendMessage' && c.at >= since && String(c.params.text).startsWith('burst to'));
    await waitFor(() => sent().length === chats.length, { what: 'every message sent', timeout: 15_000 });
    const times = sent().map((c) => c.at).sort((a, b) => a - b);
    const mostInOneSecond = Math.max(...times.map((t, i) => times.filter((u, j) => j >= i && u < t + 1000).length));
    expect(mostInOneSecond).toBeLessThanOrEqual(10);
    expect(mostInOneSecond).toBeGreaterThanOrEqual(8);
  });

  it('spreads its limiter so fixed windows never add up to more than the limit in a second', () => {
    for (const perSecond of [1, 2, 10, 29, 30, 100]) {
      const { max, duration } = outboxLimiter(perSecond);
      expect(max).toBe(1);
      // Any 1 s interval overlaps at most floor(1000 / duration) + 1 windows.
      expect(Math.floor(1000 / duration) + 1).toBeLessThanOrEqual(perSecond);
      // And not much slower than asked.
      expect(1000 / duration).toBeGreaterThanOrEqual(perSecond * 0.8 - 1);
    }
    expect(() => outboxLimiter(0)).toThrow();
  });

  it('keeps jobs across a restart: added while no worker runs, sent by the next process', async () => {
    const user = emulator.user({ id: 501, bot: TOKEN });
    await user.sendText('hi');
    const before = outbox('restart');
    await before.send({ chatId: '501', text: 'queued before the restart' });
    await before.stop();
    const after = outbox('restart');
    after.startWorker();
    const message = await user.nextBotMessage((m) => m.text === 'queued before the restart');
    expect(message.text).toBe('queued before the restart');
  });

  it('keeps a chat’s messages in order and sends every part of a long answer once', async () => {
    const user = emulator.user({ id: 502, bot: TOKEN });
    await user.sendText('hi');
    const box = outbox('order');
    box.startWorker();
    for (let i = 0; i < 5; i++) await box.send({ chatId: '502', text: `message ${i}` });
    await box.send({ chatId: '502', text: ['part A', 'part B', 'part C'] });
    await waitFor(() => user.botMessages().length === 8);
    expect(user.botMessages().map((m) => m.text)).toEqual(['message 0', 'message 1', 'message 2', 'message 3', 'message 4', 'part A', 'part B', 'part C']);
  });

  it('adds the jobs of concurrent answers together, each sent once, and a job BullMQ refuses fails alone', async () => {
    const chats = Array.from({ length: 40 }, (_, i) => 8000 + i);
    for (const chat of chats) await emulator.user({ id: chat, bot: TOKEN }).sendText('hi');
    const box = outbox('together', [], 1000);
    const since = Date.now();
    const added = await Promise.allSettled([
      ...chats.map((chat) => box.send({ chatId: String(chat), text: `together to ${chat}` })),
      // BullMQ refuses an all-digits job id.
      box.send({ chatId: String(chats[0]), text: 'refused' }, { jobId: '42' }),
    ]);
    expect(added.filter((a) => a.status === 'fulfilled')).toHaveLength(chats.length);
    expect(((added.at(-1) as PromiseRejectedResult).reason as Error).message).toMatch(/integer/i);
    box.startWorker();
    const sent = () => emulator.calls().filter((c) => c.method === 'sendMessage' && c.at >= since && String(c.params.text).startsWith('together to'));
    await waitFor(() => sent().length === chats.length, { what: 'every answer sent' });
    await waitFor(async () => (await box.backlog()) === 0, { what: 'the queue empty' });
    expect(sent().map((c) => Number(c.params.chat_id)).sort()).toEqual(chats);
    expect(emulator.calls().some((c) => c.at >= since && c.params.text === 'refused')).toBe(false);
  });

  it('records a link reply, and deletes it when the link is already gone', async () => {
    const user = emulator.user({ id: 503, bot: TOKEN });
    await user.sendText('hi');
    const replies: Array<[number, number]> = [];
    const box = outbox('replies', replies);
    box.startWorker();
    await box.send({ chatId: '503', text: 'reply of link 7', linkReplyOf: 7 });
    await box.send({ chatId: '503', text: 'reply of a dispatched link', linkReplyOf: 404 });
    await waitFor(() => replies.length === 2);
    await waitFor(() => !user.botMessages().some((m) => m.text === 'reply of a dispatched link'));
    expect(user.botMessages().map((m) => m.text)).toContain('reply of link 7');
  });

  it('redoes a job its worker was cut off in (a crash), once that worker’s hold runs out', async () => {
    const user = emulator.user({ id: 505, bot: TOKEN });
    await user.sendText('hi');
    // Short holds so the test is quick; with BullMQ's defaults (30 s) the wait below would time out.
    const holds = { lockMs: 1000, stalledCheckMs: 300 };
    const crashed = outbox('stalled', [], 30, { ...holds, onLinkReplySent: () => new Promise<boolean>(() => undefined) });
    crashed.startWorker();
    await crashed.send({ chatId: '505', text: 'reply of link 8', linkReplyOf: 8 });
    // Sent, then stuck recording the reply: the job is active when the worker dies.
    await user.nextBotMessage((m) => m.text === 'reply of link 8');
    await crashed.abandon();

    const replies: Array<[number, number]> = [];
    const next = outbox('stalled', replies, 30, holds);
    next.startWorker();
    await waitFor(() => replies.length === 1, { what: 'the cut-off job redone by the next worker', timeout: 10_000 });
    // Telegram cannot take a message back: a job cut off after its call goes out is sent again.
    const sent = user.botMessages().filter((m) => m.text === 'reply of link 8');
    expect(sent.length).toBe(2);
    expect(replies[0]).toEqual([8, sent[1]!.message_id]);
    await waitFor(async () => (await next.backlog()) === 0, { what: 'the queue empty' });
  });

  it('logs a refused message that may be refused (a notice to an admin who never opened the chat) at debug, any other at warn', async () => {
    const stream = new PassThrough();
    const lines: Array<{ level: string; message: string; chatId?: string }> = [];
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n').map((line) => JSON.parse(line))));
    const box = outbox('refused', [], 30, { logger: createLogger({ service: 'outbox-test', level: 'debug', json: true, stream }) });
    box.startWorker();
    // Nobody in the emulator has these chats: Telegram answers 400 "chat not found".
    await box.send({ chatId: '880001', text: 'bot started', mayBeRefused: true });
    await box.send({ chatId: '880002', text: 'a reply nobody can get' });
    const refusals = () => lines.filter((line) => line.message === 'telegram refused a call');
    await waitFor(() => refusals().length === 2, { what: 'both refusals logged' });
    expect(refusals().map((line) => [line.chatId, line.level]).sort()).toEqual([
      ['880001', 'debug'],
      ['880002', 'warn'],
    ]);
  });

  it('treats edits and deletes of messages that are gone as done, and drops a job with the same id twice', async () => {
    const user = emulator.user({ id: 504, bot: TOKEN });
    await user.sendText('hi');
    const box = outbox('gone');
    box.startWorker();
    await box.delete('504', 999_999);
    await box.edit({ chatId: '504', messageId: 999_998, text: 'nothing to edit' });
    await box.send({ chatId: '504', text: 'once' }, { jobId: 'dispatch.result:12:1' });
    await box.send({ chatId: '504', text: 'once' }, { jobId: 'dispatch.result:12:1' });
    await box.send({ chatId: '504', text: 'marker' });
    await user.nextBotMessage((m) => m.text === 'marker');
    expect(user.botMessages().filter((m) => m.text === 'once')).toHaveLength(1);
    await waitFor(async () => (await box.backlog()) === 0);
  });

  describe('when Telegram fails', () => {
    /** A logger whose lines the test reads. */
    function recordingLogger() {
      const stream = new PassThrough();
      const lines: Array<{ level: string; message: string } & Record<string, unknown>> = [];
      stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n').map((line) => JSON.parse(line))));
      return { logger: createLogger({ service: 'outbox-test', level: 'debug', json: true, stream }), lines };
    }
    const sendsTo = (chat: number, since: number) => emulator.calls('sendMessage').filter((c) => c.at >= since && Number(c.params.chat_id) === chat);

    it('waits between tries doubling from 1 s up to the cap, each wait in the upper half', () => {
      expect([1, 2, 3, 4, 8, 60].map((n) => retryDelayMs(n, 20_000, () => 1))).toEqual([1000, 2000, 4000, 8000, 20_000, 20_000]);
      expect([1, 2, 8].map((n) => retryDelayMs(n, 20_000, () => 0))).toEqual([500, 1000, 10_000]);
    });

    it('retries a 5xx storm far past eight tries, and the message arrives once when it ends', async () => {
      const user = emulator.user({ id: 510, bot: TOKEN });
      await user.sendText('hi');
      const metrics = createMetricsRegistry('outbox-test');
      const box = outbox('storm', [], 30, { retryCapMs: 20, metrics });
      box.startWorker();
      const since = Date.now();
      emulator.failUntilCleared('sendMessage', { errorCode: 500 });
      await box.send({ chatId: '510', text: 'owed through the storm' });
      await waitFor(() => sendsTo(510, since).length >= 12, { what: 'a dozen failed tries', timeout: 20_000 });
      expect(user.botMessages().some((m) => m.text === 'owed through the storm')).toBe(false);
      emulator.clearFaults();
      await user.nextBotMessage((m) => m.text === 'owed through the storm');
      await waitFor(async () => (await box.backlog()) === 0, { what: 'the queue empty' });
      expect(user.botMessages().filter((m) => m.text === 'owed through the storm')).toHaveLength(1);
      expect(await metrics.getSingleMetricAsString('dwld_telegram_abandoned_total')).not.toMatch(/ [1-9]/);
    });

    it('gives a message up only once TELEGRAM_GIVE_UP_AFTER_S has passed since it was queued, counted and logged', async () => {
      const user = emulator.user({ id: 511, bot: TOKEN });
      await user.sendText('hi');
      const { logger, lines } = recordingLogger();
      const metrics = createMetricsRegistry('outbox-test');
      const box = outbox('give-up', [], 30, { retryCapMs: 20, giveUpAfterMs: 1500, logger, metrics });
      box.startWorker();
      const since = Date.now();
      emulator.failUntilCleared('sendMessage', { errorCode: 502 });
      await box.send({ chatId: '511', text: 'given up' });
      await waitFor(() => lines.some((l) => l.message === 'telegram call abandoned'), { what: 'the message given up', timeout: 15_000 });
      const abandoned = lines.find((l) => l.message === 'telegram call abandoned')!;
      expect(abandoned).toMatchObject({ level: 'error', kind: 'send', chatId: '511', reason: 'HTTP 502' });
      expect(abandoned.failingForS as number).toBeGreaterThanOrEqual(1);
      const tries = sendsTo(511, since).length;
      expect(tries).toBeGreaterThan(8);
      expect(await metrics.getSingleMetricAsString('dwld_telegram_abandoned_total')).toMatch(/kind="send".* 1$/m);
      emulator.clearFaults();
      await box.send({ chatId: '511', text: 'marker' });
      await user.nextBotMessage((m) => m.text === 'marker');
      expect(sendsTo(511, since).length).toBe(tries + 1);
    });

    it('ends a call Telegram refuses for good (403: blocked) at once, and honours a 429’s retry_after', async () => {
      const blocked = emulator.user({ id: 512, bot: TOKEN });
      await blocked.sendText('hi');
      blocked.block();
      const user = emulator.user({ id: 513, bot: TOKEN });
      await user.sendText('hi');
      const box = outbox('refusals', [], 30, { retryCapMs: 20 });
      box.startWorker();
      const since = Date.now();
      emulator.failNext('sendMessage', { errorCode: 429, retryAfter: 1 });
      await box.send({ chatId: '513', text: 'after a 429' });
      await box.send({ chatId: '512', text: 'to a blocked chat' });
      await user.nextBotMessage((m) => m.text === 'after a 429');
      await waitFor(async () => (await box.backlog()) === 0, { what: 'the queue empty' });
      const [limited, sent] = sendsTo(513, since);
      expect(limited!.response).toMatchObject({ ok: false, error_code: 429 });
      expect(sent!.at - limited!.at).toBeGreaterThanOrEqual(950);
      expect(sendsTo(512, since).map((c) => c.response.ok === false && c.response.error_code)).toEqual([403]);
    });

    it('times a hung call out after its own deadline and tries again: the message arrives once Telegram answers', async () => {
      const user = emulator.user({ id: 514, bot: TOKEN });
      await user.sendText('hi');
      const box = outbox('hung', [], 30, { retryCapMs: 20, telegram: new TimedTelegram(TOKEN, { apiRoot }, 300) });
      box.startWorker();
      let held = 0;
      const onHeld = (call: { params: Record<string, unknown> }) => void (call.params.text === 'after a hang' && held++);
      emulator.on('hung', onHeld);
      emulator.hang('sendMessage');
      await box.send({ chatId: '514', text: 'after a hang' });
      // The outbox gave up on the first held call (its deadline) and is trying again.
      await waitFor(() => held >= 2, { what: 'a second try after the first timed out', timeout: 10_000 });
      emulator.off('hung', onHeld);
      emulator.clearFaults();
      await user.nextBotMessage((m) => m.text === 'after a hang', 15_000);
      await waitFor(() => emulator.hungCalls().length === 0, { what: 'every held call hung up' });
      expect(user.botMessages().filter((m) => m.text === 'after a hang')).toHaveLength(1);
    });

    it('sends a message again when a timed-out call had in fact been delivered: at least once, never lost', async () => {
      const user = emulator.user({ id: 515, bot: TOKEN });
      await user.sendText('hi');
      const box = outbox('lost-answer', [], 30, { retryCapMs: 20, telegram: new TimedTelegram(TOKEN, { apiRoot }, 300) });
      box.startWorker();
      emulator.hang('sendMessage', { afterRunning: true });
      await box.send({ chatId: '515', text: 'delivered, answer lost' });
      await emulator.waitForHungCall('sendMessage', (c) => c.params.text === 'delivered, answer lost');
      emulator.clearFaults();
      await waitFor(() => user.botMessages().filter((m) => m.text === 'delivered, answer lost').length === 2, { what: 'the message sent again', timeout: 15_000 });
      await waitFor(async () => (await box.backlog()) === 0, { what: 'the queue empty' });
    });

    it('keeps a chat’s pace when the retries of an outage all come due together: never over the flood limits', async () => {
      const user = emulator.user({ id: 516, bot: TOKEN });
      await user.sendText('hi');
      const box = outbox('pace', [], 30, { retryCapMs: 50, chatIntervalMs: 250 });
      box.startWorker();
      const since = Date.now();
      emulator.failUntilCleared('sendMessage', { errorCode: 500 });
      const texts = Array.from({ length: 6 }, (_, i) => `paced ${i}`);
      for (const text of texts) await box.send({ chatId: '516', text });
      await waitFor(() => new Set(sendsTo(516, since).map((c) => c.params.text)).size === texts.length, { what: 'every message tried', timeout: 10_000 });
      emulator.setFloodLimits({ chatIntervalMs: 200 });
      emulator.clearFaults();
      await waitFor(() => texts.every((text) => user.botMessages().some((m) => m.text === text)), { what: 'every message through', timeout: 15_000 });
      const refused = sendsTo(516, since).filter((c) => !c.response.ok && c.response.error_code === 429);
      expect(refused).toEqual([]);
      expect(user.botMessages().filter((m) => texts.includes(m.text ?? '')).map((m) => m.text).sort()).toEqual(texts);
    });
  });

  describe('a busy chat', () => {
    const metric = async (metrics: ReturnType<typeof createMetricsRegistry>, reason: string) => {
      const text = await metrics.getSingleMetricAsString('dwld_telegram_dropped_total');
      const line = text.split('\n').find((l) => l.includes(`reason="${reason}"`));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };

    it('sends only the newest of the service replies of one kind waiting for the chat; owed messages all go', async () => {
      const user = emulator.user({ id: 520, bot: TOKEN });
      await user.sendText('hi');
      const metrics = createMetricsRegistry('outbox-test');
      const box = outbox('coalesce', [], 30, { chatIntervalMs: 400, metrics });
      // Added before the worker starts: all of them wait.
      await box.send({ chatId: '520', text: 'card of link 1' });
      for (let i = 0; i < 5; i++) await box.send({ chatId: '520', text: `queue view ${i}`, service: 'queue' });
      await box.send({ chatId: '520', text: 'taken by: link 1' });
      await box.send({ chatId: '520', text: 'help 1', service: 'help' });
      await box.send({ chatId: '520', text: 'help 2', service: 'help' });
      box.startWorker();
      await user.nextBotMessage((m) => m.text === 'help 2', 15_000);
      await waitFor(async () => (await box.backlog()) === 0, { what: 'the queue empty' });
      expect(user.botMessages().map((m) => m.text).filter((t) => t !== 'hi')).toEqual(['card of link 1', 'queue view 4', 'taken by: link 1', 'help 2']);
      expect(await metric(metrics, 'coalesced')).toBe(5);
    });

    it('keeps only the newest edit of a message waiting', async () => {
      const user = emulator.user({ id: 521, bot: TOKEN });
      await user.sendText('hi');
      const box = outbox('edits', [], 30, { chatIntervalMs: 300 });
      box.startWorker();
      await box.send({ chatId: '521', text: 'card v0' });
      const card = await user.nextBotMessage((m) => m.text === 'card v0');
      const since = Date.now();
      for (let i = 1; i <= 4; i++) await box.edit({ chatId: '521', messageId: card.message_id, text: `card v${i}` });
      await waitFor(() => user.botMessages().some((m) => m.text === 'card v4'), { what: 'the newest edit' });
      await waitFor(async () => (await box.backlog()) === 0, { what: 'the queue empty' });
      const edits = emulator.calls('editMessageText').filter((c) => c.at >= since && Number(c.params.chat_id) === 521);
      expect(edits.length).toBeLessThan(4);
      expect(edits.at(-1)!.params.text).toBe('card v4');
    });

    it('bounds the service replies waiting for a chat: the newest stay, the dropped are counted', async () => {
      const user = emulator.user({ id: 522, bot: TOKEN });
      await user.sendText('hi');
      const metrics = createMetricsRegistry('outbox-test');
      const box = outbox('bound', [], 30, { chatIntervalMs: 200, chatBacklog: 3, metrics });
      await box.send({ chatId: '522', text: 'owed A' });
      for (let i = 0; i < 8; i++) {
        await box.send({ chatId: '522', text: `removed ${i}`, service: 'reply' });
        if (i === 4) await box.send({ chatId: '522', text: 'owed B' });
      }
      box.startWorker();
      await user.nextBotMessage((m) => m.text === 'removed 7', 15_000);
      await waitFor(async () => (await box.backlog()) === 0, { what: 'the queue empty' });
      const got = user.botMessages().map((m) => m.text).filter((t) => t !== 'hi');
      expect(got.filter((t) => t!.startsWith('owed'))).toEqual(['owed A', 'owed B']);
      expect(got.filter((t) => t!.startsWith('removed'))).toEqual(['removed 5', 'removed 6', 'removed 7']);
      expect(await metric(metrics, 'backlog')).toBe(5);
    });
  });
});
