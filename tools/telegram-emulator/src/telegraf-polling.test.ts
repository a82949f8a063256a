import { Markup, Telegraf } from 'telegraf';
import { TelegramEmulator } from './index';

// A real telegraf 4.16.3 bot, long polling the emulator exactly as it would poll Telegram.

const TOKEN = '555001:telegraf-polling-token';

let emulator: TelegramEmulator;
let bot: Telegraf;
let launched: Promise<void>;
const handlerErrors: unknown[] = [];

beforeAll(async () => {
  emulator = new TelegramEmulator();
  const { url } = await emulator.start();
  bot = new Telegraf(TOKEN, { telegram: { apiRoot: url } });
  bot.start((ctx) => ctx.reply('Welcome! Keep this link?', Markup.inlineKeyboard([Markup.button.callback('Keep', 'keep'), Markup.button.callback('Drop', 'drop')])));
  bot.action('keep', async (ctx) => {
    await ctx.editMessageText('Kept <b>for later</b>', { parse_mode: 'HTML' });
    await ctx.answerCbQuery('Saved');
  });
  bot.action('drop', async (ctx) => {
    await ctx.deleteMessage();
    await ctx.answerCbQuery();
  });
  bot.catch((err) => void handlerErrors.push(err));
  // launch() resolves only once the bot stops (telegraf 4.16): keep the promise for afterAll.
  launched = bot.launch();
  await emulator.waitForPolling();
});

afterAll(async () => {
  bot.stop('tests done');
  await launched;
  await emulator.stop();
});

afterEach(() => expect(handlerErrors).toEqual([]));

it('connects like to Telegram: getMe, deleteWebhook, then a long getUpdates', () => {
  expect(emulator.calls().slice(0, 2).map((c) => c.method)).toEqual(['getMe', 'deleteWebhook']);
  expect(emulator.isPolling()).toBe(true);
  expect(emulator.botInfo()).toMatchObject({ id: 555001, username: 'dwld_test_bot' });
});

it('answers /start with an inline keyboard, and edits the message when a button is pressed', async () => {
  const user = emulator.user({ id: 3001, firstName: 'Ann' });
  const welcome = user.nextBotMessage();
  user.sendText('/start');
  const message = await welcome;
  expect(message).toMatchObject({
    chat: { id: 3001 },
    text: 'Welcome! Keep this link?',
    reply_markup: { inline_keyboard: [[{ text: 'Keep', callback_data: 'keep' }, { text: 'Drop', callback_data: 'drop' }]] },
  });

  const press = user.pressButton(message.message_id, 'keep');
  expect(await press.answer()).toEqual({ text: 'Saved' });
  const [edited] = user.messages().filter((m) => m.message_id === message.message_id);
  expect(edited).toMatchObject({ text: 'Kept for later', entities: [{ type: 'bold', offset: 5, length: 9 }], edit_date: expect.any(Number) });
  expect(edited).not.toHaveProperty('reply_markup');
});

it('deletes the message when asked to, for real', async () => {
  const user = emulator.user({ id: 3002 });
  const welcome = user.nextBotMessage();
  const start = user.sendText('/start');
  const message = await welcome;
  expect(user.messages().map((m) => m.message_id)).toEqual([start.message_id, message.message_id]);

  expect(await user.pressButton(message.message_id, 'drop').answer()).toEqual({});
  expect(user.messages().map((m) => m.message_id)).toEqual([start.message_id]);
  expect(emulator.calls('deleteMessage').at(-1)?.response).toEqual({ ok: true, result: true });
});

it('sees every update exactly once across polls', async () => {
  const user = emulator.user({ id: 3003 });
  const replies: number[] = [];
  const twoReplies = new Promise<void>((resolve) => {
    emulator.on('chat', function listener(event) {
      if (event.kind !== 'message' || event.chatId !== 3003 || !event.message.from?.is_bot) return;
      replies.push(event.message.message_id);
      if (replies.length === 2) {
        emulator.off('chat', listener);
        resolve();
      }
    });
  });
  user.sendText('/start');
  user.sendText('/start');
  await twoReplies;
  // telegraf now polls with offset = last update + 1. Had that offset been ignored, the two
  // updates would come straight back (more replies) instead of the poll waiting.
  await emulator.waitForPolling();
  expect(user.botMessages()).toHaveLength(2);
  expect(emulator.calls('sendMessage').filter((c) => c.params.chat_id === 3003)).toHaveLength(2);
});
