import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import { freePort } from '@dwld/testkit';
import { Markup, Telegraf } from 'telegraf';
import { TelegramEmulator } from './index';

// A real telegraf 4.16.3 bot in webhook mode: the emulator POSTs updates to telegraf's own
// webhook handler, served on a local http server.

const TOKEN = '555002:telegraf-webhook-token';
const SECRET = 'dwld-Webhook_secret';

let emulator: TelegramEmulator;
let server: Server;
let port: number;

beforeAll(async () => {
  emulator = new TelegramEmulator();
  const { url } = await emulator.start();
  const bot = new Telegraf(TOKEN, { telegram: { apiRoot: url } });
  bot.start((ctx) => ctx.reply('Welcome!', Markup.inlineKeyboard([Markup.button.callback('Keep', 'keep'), Markup.button.callback('Drop', 'drop')])));
  bot.action('keep', async (ctx) => {
    await ctx.answerCbQuery('Saved');
    await ctx.editMessageText('Kept');
  });
  bot.action('drop', async (ctx) => {
    await ctx.deleteMessage();
    await ctx.answerCbQuery('Dropped');
  });

  // The server listens before the webhook is registered, so no delivery can find it closed.
  let webhook: RequestListener | undefined;
  port = await freePort();
  server = createServer((request, response) => (webhook ? webhook(request, response) : response.writeHead(503).end()));
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  webhook = await bot.createWebhook({ domain: `127.0.0.1:${port}`, secret_token: SECRET });
});

afterAll(async () => {
  await emulator.stop();
  await new Promise((resolve) => server.close(resolve));
});

it('registers telegraf’s https webhook and delivers to it over plain HTTP, with the secret', async () => {
  const info = emulator.webhookInfo();
  expect(info.url).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:${port}/telegraf/[0-9a-f]{64}$`));
  expect(emulator.calls('setWebhook')[0]?.params).toMatchObject({ secret_token: SECRET });

  const user = emulator.user({ id: 4001 });
  const welcome = user.nextBotMessage();
  user.sendText('/start');
  // telegraf drops requests whose secret header does not match, so an answer proves it was sent.
  expect(await welcome).toMatchObject({ text: 'Welcome!', reply_markup: { inline_keyboard: [[{ callback_data: 'keep' }, { callback_data: 'drop' }]] } });
});

it('runs answerCbQuery sent back in the webhook response (telegraf’s webhookReply)', async () => {
  const user = emulator.user({ id: 4002 });
  const welcome = user.nextBotMessage();
  user.sendText('/start');
  const message = await welcome;
  const edited = emulator.waitForCall('editMessageText');

  expect(await user.pressButton(message.message_id, 'keep').answer()).toEqual({ text: 'Saved' });
  expect(emulator.calls('answerCallbackQuery').at(-1)).toMatchObject({ source: 'webhook-reply', response: { ok: true, result: true } });
  // Later calls of the same update go over HTTP, the webhook answer being already sent.
  expect(await edited).toMatchObject({ source: 'http', response: { ok: true } });
  expect(user.messages().find((m) => m.message_id === message.message_id)).toMatchObject({ text: 'Kept' });
});

it('deletes through the webhook response too', async () => {
  const user = emulator.user({ id: 4003 });
  const welcome = user.nextBotMessage();
  user.sendText('/start');
  const message = await welcome;
  const deleted = emulator.waitForCall('deleteMessage');

  expect(await user.pressButton(message.message_id, 'drop').answer()).toEqual({ text: 'Dropped' });
  expect(await deleted).toMatchObject({ source: 'webhook-reply', response: { ok: true, result: true } });
  expect(user.botMessages()).toEqual([]);
});
