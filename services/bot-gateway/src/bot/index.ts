import { Composer, Telegraf } from 'telegraf';
import { isDatabaseUnavailable } from '@dwld/db';
import { ADMIN_COMMANDS, USER_COMMANDS } from '@dwld/domain';
import type { Counter } from '@dwld/runtime';
import { ALL_MENU_LABELS, textsFor, type Language } from '../texts';
import { accessControl } from './access';
import type { BotContext, BotDeps } from './context';
import { adminFeature } from './features/admin';
import { buttonsFeature } from './features/buttons';
import { commandsFeature } from './features/commands';
import { linksFeature } from './features/links';
import { say } from './reply';

/** The bot: access control first, then each feature as its own composer. */
export function createBot(deps: BotDeps, updatesHandled: Counter): Telegraf<BotContext> {
  const { config } = deps;
  const bot = new Telegraf<BotContext>(config.TELEGRAM_BOT_TOKEN, {
    // Answers go through the outbox, never in the webhook's HTTP response.
    telegram: { apiRoot: config.TELEGRAM_API_ROOT, webhookReply: false },
    handlerTimeout: 60_000,
  });
  bot.use(async (ctx, next) => {
    const updateId = ctx.update.update_id;
    // A redelivered update (a crash before Telegram heard it was received) was handled already.
    const handled = await deps.handledUpdates.wasHandled(updateId).catch(() => false);
    if (handled) {
      updatesHandled.inc({ type: 'redelivered' });
      deps.logger.info('update handled before: skipped', { updateId, updateType: ctx.updateType });
      return;
    }
    updatesHandled.inc({ type: ctx.updateType });
    await next();
    await deps.handledUpdates.markHandled(updateId).catch((err: unknown) => deps.logger.warn('could not mark an update handled', { updateId, error: (err as Error).message }));
  });
  bot.use(accessControl(deps));
  const links = linksFeature(deps);
  // A plain message (most updates: links) goes straight to the links feature instead of
  // through every command and button filter first, a closure and a promise each per update.
  bot.use(Composer.branch(isPlainMessage, links, Composer.compose([adminFeature(deps), commandsFeature(deps), buttonsFeature(deps), links])));

  bot.catch(async (err, ctx) => {
    const unavailable = isDatabaseUnavailable(err);
    const log = ctx.log ?? deps.logger;
    log.error('update failed', { updateType: ctx.updateType, error: (err as Error).message, unavailable });
    const texts = ctx.actor?.texts ?? textsFor(config.DEFAULT_LANGUAGE);
    const words = unavailable ? texts.unavailable : texts.somethingWrong;
    try {
      if (ctx.callbackQuery) await ctx.answerCbQuery(words);
      else if (ctx.chat) await say(deps, ctx, words, { transient: true });
    } catch (replyErr) {
      log.warn('cannot tell the person about the failure', { error: (replyErr as Error).message });
    }
  });
  return bot;
}

/** A new message's text or caption that is neither a command nor a reply-keyboard button. */
export function isPlainMessage(ctx: { message?: object }): boolean {
  const msg = ctx.message as { text?: unknown; caption?: unknown } | undefined;
  if (!msg) return false;
  const text = typeof msg.text === 'string' ? msg.text : typeof msg.caption === 'string' ? msg.caption : undefined;
  return text !== undefined && !text.startsWith('/') && !ALL_MENU_LABELS.has(text);
}

/** The command menu Telegram shows: the user list for everyone, the admin list in each admin's chat. */
export async function registerCommands(bot: Telegraf<BotContext>, adminIds: readonly string[]): Promise<void> {
  for (const lang of ['en', 'ru'] as Language[]) {
    const { commands } = textsFor(lang);
    const describe = (names: readonly string[]) => names.map((command) => ({ command, description: commands[command as keyof typeof commands] }));
    const languageCode = lang === 'en' ? undefined : lang;
    await bot.telegram.setMyCommands(describe(USER_COMMANDS), { scope: { type: 'default' }, ...(languageCode ? { language_code: languageCode } : {}) });
    for (const id of adminIds) {
      await bot.telegram.setMyCommands(describe(ADMIN_COMMANDS), { scope: { type: 'chat', chat_id: Number(id) }, ...(languageCode ? { language_code: languageCode } : {}) });
    }
  }
}
