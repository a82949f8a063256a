import { Composer, Markup } from 'telegraf';
import { PHONE_USER_COMMANDS } from '../commands-menu';
import { QUEUE_STATUSES, type QueueStatus } from '../../store/link-queue';
import type { BotContext, BotDeps } from '../context';
import { say } from '../reply';
import { menuLabels } from '../../texts';
import { commandLists, menuKeyboard } from '../menu';
import { renderQueue } from '../queue-view';
import { removeLinksByUrl } from '../../use-cases/remove-link';
import { selectKeyboard } from '../views';

/** The commands every allowed person has. */
export function commandsFeature(deps: BotDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const { users } = deps;
  // Remembered at /start, with the language Telegram reports, to keep their preferences.
  const remember = async (ctx: BotContext) => {
    if (ctx.actor.role !== 'stranger') await users.ensureKnown(ctx.actor.id, ctx.actor.role, ctx.from?.language_code ?? null);
  };

  const start = async (ctx: BotContext) => {
    await remember(ctx);
    // Their own command menu (with /logout), also for people who logged in before it was set at login.
    if (ctx.actor.role === 'user' && ctx.actor.wayIn === 'phone') await deps.outbox.setCommands(String(ctx.chat?.id ?? ctx.actor.id), commandLists(PHONE_USER_COMMANDS));
    await say(deps, ctx, ctx.actor.texts.welcome(ctx.actor.role === 'admin'), { markup: menuKeyboard(ctx.actor.texts, ctx.actor.role), transient: true, service: 'welcome' });
  };
  const help = (ctx: BotContext) => say(deps, ctx, ctx.actor.texts.help(ctx.actor.role === 'admin', ctx.actor.wayIn === 'phone'), { transient: true, service: 'help' });

  const queue = async (ctx: BotContext) => {
    const listing = await renderQueue(deps, ctx.actor);
    return say(deps, ctx, listing.text, { ...(listing.markup ? { markup: listing.markup } : {}), transient: true, service: 'queue' });
  };

  const remove = async (ctx: BotContext & { payload?: string }) => {
    const { texts } = ctx.actor;
    const arg = (ctx.payload ?? '').trim();
    if (!arg) return say(deps, ctx, texts.removeUsage, { transient: true, service: 'reply' });
    const { url, found } = await removeLinksByUrl(deps, ctx.actor, arg, ctx.log);
    return say(deps, ctx, found === 0 ? texts.removeNotFound(url) : texts.removed(url), { transient: true, service: 'reply' });
  };

  composer.start(start);
  composer.command('restart', async (ctx) => {
    await users.reset(ctx.actor.id);
    await say(deps, ctx, ctx.actor.texts.restarted, { transient: true, service: 'reply' });
    await start(ctx);
  });
  composer.help(help);
  composer.command('queue', queue);
  composer.command('select', async (ctx) => {
    const user = await users.find(ctx.actor.id);
    await say(deps, ctx, ctx.actor.texts.selectTitle, { markup: selectKeyboard((user?.queueFilter ?? QUEUE_STATUSES) as QueueStatus[], ctx.actor.texts), service: 'select' });
  });
  composer.command('remove', remove);
  composer.command('enable', async (ctx) => {
    await users.setNotifications(ctx.actor.id, true);
    await say(deps, ctx, ctx.actor.texts.notificationsOn, { transient: true, service: 'notifications' });
  });
  composer.command('disable', async (ctx) => {
    await users.setNotifications(ctx.actor.id, false);
    await say(deps, ctx, ctx.actor.texts.notificationsOff, { transient: true, service: 'notifications' });
  });
  composer.command('logout', async (ctx) => {
    const forgotten = await users.logout(ctx.actor.id);
    if (forgotten) {
      // Back to a stranger's chat: no menu keyboard, no command menu of their own.
      await deps.outbox.setCommands(String(ctx.chat?.id ?? ctx.actor.id), commandLists([]));
    }
    await say(deps, ctx, forgotten ? ctx.actor.texts.loggedOut : ctx.actor.texts.notLoggedInByPhone, forgotten ? { markup: Markup.removeKeyboard().reply_markup, service: 'reply' } : { transient: true, service: 'reply' });
  });
  // The menu keyboard's buttons send their labels as text.
  composer.hears(menuLabels('queue'), queue);
  composer.hears(menuLabels('help'), help);
  return composer;
}
