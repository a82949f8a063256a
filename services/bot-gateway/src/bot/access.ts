import { Composer, Markup } from 'telegraf';
import { isDatabaseUnavailable } from '@dwld/db';
import { isContactAcceptable, resolveRole } from '@dwld/domain';
import { PHONE_USER_COMMANDS } from './commands-menu';
import { pickLanguage, textsFor } from '../texts';
import type { BotContext, BotDeps } from './context';
import { say } from './reply';
import { commandLists, menuKeyboard } from './menu';
import { errorMessage } from '@dwld/errors';

/**
 * Runs first on every update: names the sender (role, language, texts), gives the update its
 * own logger, and stops strangers here with "access denied" and their id. The only thing a
 * stranger can do is share their own contact, when ALLOWED_PHONES is set. Nothing about a
 * stranger is stored.
 */
export function accessControl(deps: BotDeps): Composer<BotContext> {
  const { config, users } = deps;
  const adminIds = new Set(config.ADMIN_IDS);
  const allowedIds = new Set(config.ALLOWED_IDS);
  const phoneLogin = config.ALLOWED_PHONES.length > 0;
  const composer = new Composer<BotContext>();

  composer.use(async (ctx, next) => {
    const from = ctx.from;
    ctx.log = deps.logger.child({ updateId: ctx.update.update_id, userId: from?.id });
    if (!from || from.is_bot) return;
    const id = String(from.id);
    const byConfig = adminIds.has(id) || allowedIds.has(id);
    let authorisedByPhone = false;
    let language: string | null = from.language_code ?? null;
    if (!byConfig) {
      try {
        const user = await users.find(id);
        authorisedByPhone = user?.authorised === true;
        language = user?.language ?? language;
      } catch (err) {
        if (!isDatabaseUnavailable(err)) throw err;
        ctx.log.warn('cannot check a phone login: database unavailable');
        const texts = textsFor(pickLanguage(language, config.DEFAULT_LANGUAGE));
        if (ctx.callbackQuery) await ctx.answerCbQuery(texts.unavailable);
        else await say(deps, ctx, texts.unavailable, { service: 'unavailable' });
        return;
      }
    }
    const lang = pickLanguage(language, config.DEFAULT_LANGUAGE);
    ctx.actor = {
      id,
      role: resolveRole({ userId: id, adminIds, allowedIds, authorisedByPhone }),
      wayIn: byConfig ? 'id' : 'phone',
      lang,
      texts: textsFor(lang),
      username: from.username ?? null,
      name: [from.first_name, from.last_name].filter(Boolean).join(' ') || null,
    };
    if (ctx.actor.role !== 'stranger') return next();

    const texts = ctx.actor.texts;
    const contact = ctx.message && 'contact' in ctx.message ? ctx.message.contact : undefined;
    if (contact && phoneLogin) {
      const verdict = isContactAcceptable({ senderId: id, contactUserId: contact.user_id === undefined ? undefined : String(contact.user_id), phone: contact.phone_number, allowedPhones: config.ALLOWED_PHONES });
      if (!verdict.ok) {
        ctx.log.info('contact login refused', { reason: verdict.reason });
        await say(deps, ctx, verdict.reason === 'not_own_contact' ? texts.contactNotOwn : texts.contactPhoneNotAllowed, { service: 'reply' });
        return;
      }
      await users.authoriseByPhone(id, contact.phone_number, from.language_code ?? null);
      ctx.log.info('authorised by phone');
      // In with the same menu and commands as anyone let in by id, plus /logout.
      await say(deps, ctx, texts.contactAccepted, { markup: menuKeyboard(texts, 'user'), service: 'reply' });
      await deps.outbox.setCommands(String(ctx.chat?.id ?? id), commandLists(PHONE_USER_COMMANDS)).catch((err: unknown) => ctx.log.warn('command menu not set', { error: errorMessage(err) }));
      return;
    }
    ctx.log.info('access denied');
    if (ctx.callbackQuery) {
      await ctx.answerCbQuery(texts.accessDenied(id, false).replace(/<[^>]+>/g, ''));
      return;
    }
    await say(deps, ctx, texts.accessDenied(id, phoneLogin), { service: 'access-denied', ...(phoneLogin ? { markup: Markup.keyboard([[Markup.button.contactRequest(texts.shareContactButton)]]).resize().oneTime().reply_markup } : {}) });
  });
  return composer;
}

/** A filter letting only admins through; others get a short refusal. */
export function adminOnly(deps: BotDeps) {
  return (ctx: BotContext, next: () => Promise<void>): Promise<void> => {
    if (ctx.actor.role === 'admin') return next();
    ctx.log.info('admin command refused');
    return say(deps, ctx, ctx.actor.texts.adminOnly, { transient: true, service: 'admin-only' });
  };
}
