import { Composer, Markup } from 'telegraf';
import { extractLinks, validateLink } from '@dwld/domain';
import type { Link } from '@dwld/db';
import { QUEUE_STATUSES, type QueueStatus } from '../../store/links';
import type { BotContext, BotDeps } from '../context';
import { say } from '../reply';
import { menuLabels } from '../../texts';
import { removeLink } from '../remove';
import { linkView, removeButtons, selectKeyboard } from '../views';

function menu(ctx: BotContext) {
  const { menu: m } = ctx.actor.texts;
  const rows = [[m.queue, m.help], ...(ctx.actor.role === 'admin' ? [[m.status, m.downloaders]] : [])];
  return Markup.keyboard(rows).resize().reply_markup;
}

/** The commands every allowed person has. */
export function commandsFeature(deps: BotDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const { links, users, config } = deps;
  // Remembered at /start, with the language Telegram reports, to keep their preferences.
  const remember = async (ctx: BotContext) => {
    if (ctx.actor.role !== 'stranger') await users.ensureKnown(ctx.actor.id, ctx.actor.role, ctx.from?.language_code ?? null);
  };

  const start = async (ctx: BotContext) => {
    await remember(ctx);
    await say(deps, ctx, ctx.actor.texts.welcome(ctx.actor.role === 'admin'), { markup: menu(ctx), transient: true });
  };
  const help = (ctx: BotContext) => say(deps, ctx, ctx.actor.texts.help(ctx.actor.role === 'admin'), { transient: true });

  const queue = async (ctx: BotContext) => {
    const { texts } = ctx.actor;
    const user = await users.find(ctx.actor.id);
    const shown = (user?.queueFilter ?? QUEUE_STATUSES) as QueueStatus[];
    const admin = ctx.actor.role === 'admin';
    const list = await links.list(admin ? undefined : ctx.actor.id, shown);
    if (list.length === 0) return say(deps, ctx, admin ? texts.queueEmptyAll : texts.queueEmpty, { transient: true });
    const now = deps.clock();
    const lines: string[] = [texts.queueHeader(list.length)];
    if (admin) {
      const byUser = new Map<string, Link[]>();
      for (const link of list) byUser.set(String(link.userId), [...(byUser.get(String(link.userId)) ?? []), link]);
      for (const owned of byUser.values()) {
        lines.push('', texts.queueUserHeader(linkView(owned[0]!).owner ?? '', owned.length));
        for (const link of owned) lines.push(texts.queueItem(linkView(link), now));
      }
    } else {
      for (const link of list) lines.push(texts.queueItem(linkView(link), now));
    }
    // Telegram takes 100 buttons a message at most.
    return say(deps, ctx, lines.join('\n'), { markup: removeButtons(list.slice(0, 100)), transient: true });
  };

  const remove = async (ctx: BotContext & { payload?: string }) => {
    const { texts } = ctx.actor;
    const arg = (ctx.payload ?? '').trim();
    if (!arg) return say(deps, ctx, texts.removeUsage, { transient: true });
    const raw = extractLinks(arg)[0] ?? arg;
    const checked = validateLink(raw, { maxLength: config.MAX_LINK_LENGTH, allowPrivateHosts: true });
    const url = checked.ok ? checked.link.url : raw;
    const found = await links.findByUrl(url, ctx.actor.role === 'admin' ? undefined : ctx.actor.id);
    if (found.length === 0) return say(deps, ctx, texts.removeNotFound(url), { transient: true });
    for (const link of found) await removeLink(deps, link, ctx.log, { deleteReply: true });
    return say(deps, ctx, texts.removed(url), { transient: true });
  };

  composer.start(start);
  composer.command('restart', async (ctx) => {
    await users.reset(ctx.actor.id);
    await say(deps, ctx, ctx.actor.texts.restarted, { transient: true });
    await start(ctx);
  });
  composer.help(help);
  composer.command('queue', queue);
  composer.command('select', async (ctx) => {
    const user = await users.find(ctx.actor.id);
    await say(deps, ctx, ctx.actor.texts.selectTitle, { markup: selectKeyboard((user?.queueFilter ?? QUEUE_STATUSES) as QueueStatus[], ctx.actor.texts) });
  });
  composer.command('remove', remove);
  composer.command('enable', async (ctx) => {
    await users.setNotifications(ctx.actor.id, true);
    await say(deps, ctx, ctx.actor.texts.notificationsOn, { transient: true });
  });
  composer.command('disable', async (ctx) => {
    await users.setNotifications(ctx.actor.id, false);
    await say(deps, ctx, ctx.actor.texts.notificationsOff, { transient: true });
  });
  composer.command('logout', async (ctx) => {
    const forgotten = await users.logout(ctx.actor.id);
    await say(deps, ctx, forgotten ? ctx.actor.texts.loggedOut : ctx.actor.texts.notLoggedInByPhone, forgotten ? { markup: Markup.removeKeyboard().reply_markup } : { transient: true });
  });
  // The menu keyboard's buttons send their labels as text.
  composer.hears(menuLabels('queue'), queue);
  composer.hears(menuLabels('help'), help);
  return composer;
}
