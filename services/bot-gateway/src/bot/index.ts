import { Composer, Context, Telegraf, type Telegram } from 'telegraf';
import type { Update, UserFromGetMe } from 'telegraf/types';
import { isDatabaseUnavailable } from '@dwld/db';
import { ADMIN_COMMANDS, USER_COMMANDS } from './commands-menu';
import type { Counter } from '@dwld/runtime';
import { ALL_MENU_LABELS, textsFor } from '../texts';
import { accessControl } from './access';
import type { BotContext, BotDeps } from './context';
import { adminFeature } from './features/admin';
import { buttonsFeature } from './features/buttons';
import { commandsFeature } from './features/commands';
import { linksFeature } from './features/links';
import { say } from './reply';
import { fingerprintOf, judgeRedelivery } from '../telegram/handled-updates';
import { errorMessage } from '@dwld/errors';
import { commandLists } from './menu';
import { TimedTelegram, type TelegramHealth } from '../telegram/timed-telegram';

/** The bot: access control first, then each feature as its own composer. */
export function createBot(deps: BotDeps, updatesHandled: Counter, health?: TelegramHealth): Telegraf<BotContext> {
  const { config } = deps;
  // Answers go through the outbox, never in the webhook's HTTP response.
  const options = { apiRoot: config.TELEGRAM_API_ROOT, webhookReply: false };
  const timed = () => new TimedTelegram(config.TELEGRAM_BOT_TOKEN, options, config.TELEGRAM_CALL_TIMEOUT_S, health);
  // Every call (polling, getMe, answers to button presses) with its own deadline: Telegraf's
  // client would wait 500 s for a Telegram that never answers. One client serves every update:
  // with webhookReply off, the one Telegraf makes per update differs in nothing.
  const contextTelegram = timed();
  class TimedContext extends Context {
    constructor(update: Update, _telegram: Telegram, botInfo: UserFromGetMe) {
      super(update, contextTelegram, botInfo);
    }
  }
  const bot = new Telegraf<BotContext>(config.TELEGRAM_BOT_TOKEN, {
    telegram: options,
    handlerTimeout: 60_000,
    contextType: TimedContext as unknown as new (...args: ConstructorParameters<typeof Context>) => BotContext,
  });
  bot.telegram = timed();
  bot.use(async (ctx, next) => {
    const updateId = ctx.update.update_id;
    // A redelivered update (a crash before Telegram heard it was received) was handled already;
    // a different update under a known id (a Bot API server numbering anew) was not.
    const fingerprint = fingerprintOf(ctx.update as unknown as { update_id: number } & Record<string, unknown>);
    const remembered = await deps.handledUpdates.remembered(updateId).catch(() => null);
    const seen = judgeRedelivery(remembered, fingerprint);
    if (seen.verdict === 'redelivered') {
      updatesHandled.inc({ type: 'redelivered' });
      deps.logger.warn('update handled before: skipped', { updateId, date: dateOf(fingerprint.date), updateType: ctx.updateType });
      return;
    }
    if (seen.verdict === 'reused') {
      deps.logger.warn('update id handled before, for another update: handled as new', { updateId, date: dateOf(fingerprint.date), rememberedDate: dateOf(seen.rememberedDate), updateType: ctx.updateType });
    }
    updatesHandled.inc({ type: ctx.updateType });
    await next();
    await deps.handledUpdates.markHandled(updateId, fingerprint).catch((err: unknown) => deps.logger.warn('could not mark an update handled', { updateId, error: errorMessage(err) }));
  });
  bot.use(accessControl(deps));
  const links = linksFeature(deps);
  // A plain message (most updates: links) goes straight to the links feature instead of
  // through every command and button filter first, a closure and a promise each per update.
  bot.use(Composer.branch(isPlainMessage, links, Composer.compose([adminFeature(deps), commandsFeature(deps), buttonsFeature(deps), links])));

  bot.catch(async (err, ctx) => {
    const unavailable = isDatabaseUnavailable(err);
    const log = ctx.log ?? deps.logger;
    log.error('update failed', { updateType: ctx.updateType, error: errorMessage(err), unavailable });
    const texts = ctx.actor?.texts ?? textsFor(config.DEFAULT_LANGUAGE);
    const words = unavailable ? texts.unavailable : texts.somethingWrong;
    try {
      if (ctx.callbackQuery) await ctx.answerCbQuery(words);
      else if (ctx.chat) await say(deps, ctx, words, { transient: true, service: unavailable ? 'unavailable' : 'something-wrong' });
    } catch (replyErr) {
      log.warn('cannot tell the person about the failure', { error: errorMessage(replyErr) });
    }
  });
  return bot;
}

/** A Telegram date (seconds) as an ISO time for the logs. */
function dateOf(seconds: number | null): string | null {
  return seconds === null ? null : new Date(seconds * 1000).toISOString();
}

/** A new message's text or caption that is neither a command nor a reply-keyboard button. */
export function isPlainMessage(ctx: { message?: object }): boolean {
  const msg = ctx.message as { text?: unknown; caption?: unknown } | undefined;
  if (!msg) return false;
  const text = typeof msg.text === 'string' ? msg.text : typeof msg.caption === 'string' ? msg.caption : undefined;
  return text !== undefined && !text.startsWith('/') && !ALL_MENU_LABELS.has(text);
}

/**
 * The command menu Telegram shows: the user list for everyone, the admin list in each admin's
 * chat. People let in by phone get theirs (with /logout) when they log in.
 */
export async function registerCommands(bot: Telegraf<BotContext>, adminIds: readonly string[]): Promise<void> {
  const users = commandLists(USER_COMMANDS);
  const admins = commandLists(ADMIN_COMMANDS);
  for (const [i, { languageCode, commands }] of users.entries()) {
    const language = languageCode ? { language_code: languageCode } : {};
    await bot.telegram.setMyCommands(commands, { scope: { type: 'default' }, ...language });
    for (const id of adminIds) await bot.telegram.setMyCommands(admins[i]!.commands, { scope: { type: 'chat', chat_id: Number(id) }, ...language });
  }
}
