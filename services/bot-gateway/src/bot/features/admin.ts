import { Composer, Markup } from 'telegraf';
import { encodeCallbackData } from '../../telegram/callback-data';
import { escapeHtml } from '../../telegram/text';
import { routeOf } from '@dwld/db';
import { errorMessage } from '@dwld/errors';
import type { BotContext, BotDeps } from '../context';
import { adminOnly } from '../access';
import { redrawWaitingCards } from '../redraw-cards';
import { say } from '../reply';
import { menuLabels } from '../../texts';

/** Admin commands: the fleet's state, and the pause switch the schedulers obey. */
export function adminFeature(deps: BotDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const { downloaders, links } = deps;
  const onlyAdmins = adminOnly(deps);
  const fleet = () => deps.fleet.list();

  const status = async (ctx: BotContext) => {
    const { texts } = ctx.actor;
    const all = await fleet();
    if (all.length === 0) return say(deps, ctx, texts.noDownloaders, { transient: true, service: 'status' });
    const blocks = await Promise.all(
      all.map(async (d) => {
        try {
          const s = await downloaders.status(d.name);
          return [texts.statusOf(d.name), ...(s.sensors ? [texts.sensors(s.sensors)] : []), ...(s.downloads.length ? s.downloads.map(texts.statusItem) : [texts.statusIdle])].join('\n');
        } catch (err) {
          return texts.statusUnavailable(d.name, errorMessage(err));
        }
      }),
    );
    return say(deps, ctx, blocks.join('\n\n'), { service: 'status' });
  };

  const list = async (ctx: BotContext) => {
    const { texts } = ctx.actor;
    const all = await fleet();
    if (all.length === 0) return say(deps, ctx, texts.noDownloaders, { transient: true, service: 'status' });
    const now = deps.clock();
    return say(deps, ctx, all.map((d) => texts.downloaderLine({ ...routeOf(d), lastSeenAt: d.lastSeenAt }, now)).join('\n\n'), { service: 'status' });
  };

  composer.command('status', onlyAdmins, status);
  composer.command('downloaders', onlyAdmins, list);
  composer.hears(menuLabels('status'), onlyAdmins, status);
  composer.hears(menuLabels('downloaders'), onlyAdmins, list);
  // Cleaning forgets every downloader's history at once: asked once, done only on "yes" (buttons feature).
  composer.command('clean', onlyAdmins, async (ctx) => {
    const { texts } = ctx.actor;
    const all = await fleet();
    if (all.length === 0) return say(deps, ctx, texts.noDownloaders, { transient: true, service: 'status' });
    const keyboard = Markup.inlineKeyboard([
      Markup.button.callback(texts.cleanYes, encodeCallbackData({ kind: 'clean', confirmed: true })),
      Markup.button.callback(texts.cleanNo, encodeCallbackData({ kind: 'clean', confirmed: false })),
    ]).reply_markup;
    return say(deps, ctx, texts.cleanConfirm(all.map((d) => d.name)), { markup: keyboard, service: 'reply' });
  });
  composer.command('pooloff', onlyAdmins, async (ctx) => {
    const flipped = await deps.pause.set(true, { id: ctx.actor.id, name: ctx.actor.username ? `@${ctx.actor.username}` : ctx.actor.name });
    if (!flipped) {
      const pause = await deps.pause.current();
      return say(deps, ctx, ctx.actor.texts.alreadyPaused(pause ?? { since: null, by: null }), { service: 'pause' });
    }
    ctx.log.info('dispatching paused');
    await say(deps, ctx, ctx.actor.texts.paused, { service: 'pause' });
    redrawWaitingCards(deps, ctx.log);
  });
  composer.command('poolon', onlyAdmins, async (ctx) => {
    const flipped = await deps.pause.set(false);
    if (!flipped) return say(deps, ctx, ctx.actor.texts.notPaused, { service: 'pause' });
    ctx.log.info('dispatching resumed');
    await say(deps, ctx, ctx.actor.texts.resumed, { service: 'pause' });
    redrawWaitingCards(deps, ctx.log);
  });
  composer.command('links', onlyAdmins, async (ctx) => {
    const all = await links.list();
    // One link per line and nothing else: for scripts.
    return say(deps, ctx, all.length ? all.map((l) => escapeHtml(l.url)).join('\n') : ctx.actor.texts.queueEmptyAll, { service: 'links-list' });
  });
  return composer;
}
