import { Telegram } from 'telegraf';
import { PassThrough } from 'node:stream';
import { createLogger, silentLogger } from '@dwld/logger';
import { createMetricsRegistry } from '@dwld/runtime';
import { TelegramEmulator } from '@dwld/telegram-emulator';
import { createRedisNamespace, waitFor, type RedisNamespace } from '@dwld/testkit';
import { Redis } from 'ioredis';
import { outboxLimiter, TelegramOutbox, type OutboxOptions } from './outbox';

const TOKEN = '2345678:outbox-test-token-for-the-emulator';

describe('TelegramOutbox (BullMQ on real Redis, Bot API emulator)', () => {
  let emulator: TelegramEmulator;
  let telegram: Telegram;
  let ns: RedisNamespace;
  const connections: Redis[] = [];
  const outboxes: TelegramOutbox[] = [];

  beforeAll(async () => {
    emulator = new TelegramEmulator();
    const { url } = await emulator.start();
    emulator.addBot(TOKEN);
    telegram = new Telegram(TOKEN, { apiRoot: url });
    ns = await createRedisNamespace('outbox');
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
});
