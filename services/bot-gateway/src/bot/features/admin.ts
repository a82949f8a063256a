import { Composer } from 'telegraf';
import { escapeHtml } from '@dwld/domain';
import type { BotContext, BotDeps } from '../context';
import { adminOnly } from '../access';
import { say } from '../reply';
import { menuLabels } from '../../texts';

/** Admin commands: the fleet's state, and the pause switch the schedulers obey. */
export function adminFeature(deps: BotDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const { db, downloaders, settings, links } = deps;
  const onlyAdmins = adminOnly(deps);
  const fleet = () => db.downloader.findMany({ orderBy: { name: 'asc' } });

  const status = async (ctx: BotContext) => {
    const { texts } = ctx.actor;
    const all = await fleet();
    if (all.length === 0) return say(deps, ctx, texts.noDownloaders, { transient: true });
    const blocks = await Promise.all(
      all.map(async (d) => {
        try {
          const s = await downloaders.status(d.name);
          return [texts.statusOf(d.name), ...(s.sensors ? [texts.sensors(s.sensors)] : []), ...(s.linksInWork.length ? s.linksInWork.map(texts.statusItem) : [texts.statusIdle])].join('\n');
        } catch (err) {
          return texts.statusUnavailable(d.name, (err as Error).message);
        }
      }),
    );
    return say(deps, ctx, blocks.join('\n\n'));
  };

  const list = async (ctx: BotContext) => {
    const { texts } = ctx.actor;
    const all = await fleet();
    if (all.length === 0) return say(deps, ctx, texts.noDownloaders, { transient: true });
    const now = deps.clock();
    return say(deps, ctx, all.map((d) => texts.downloaderLine({ ...d, patterns: d.allowedPatterns }, now)).join('\n\n'));
  };

  composer.command('status', onlyAdmins, status);
  composer.command('downloaders', onlyAdmins, list);
  composer.hears(menuLabels('status'), onlyAdmins, status);
  composer.hears(menuLabels('downloaders'), onlyAdmins, list);
  composer.command('clean', onlyAdmins, async (ctx) => {
    const { texts } = ctx.actor;
    const all = await fleet();
    if (all.length === 0) return say(deps, ctx, texts.noDownloaders, { transient: true });
    const lines = await Promise.all(
      all.map((d) =>
        downloaders.cleanHistory(d.name).then(
          (r) => texts.cleaned(d.name, r.history.length),
          (err: unknown) => texts.cleanFailed(d.name, (err as Error).message),
        ),
      ),
    );
    return say(deps, ctx, lines.join('\n'));
  });
  composer.command('pooloff', onlyAdmins, async (ctx) => {
    await settings.setDispatchPaused(true);
    ctx.log.info('dispatching paused');
    await say(deps, ctx, ctx.actor.texts.paused);
  });
  composer.command('poolon', onlyAdmins, async (ctx) => {
    await settings.setDispatchPaused(false);
    ctx.log.info('dispatching resumed');
    await say(deps, ctx, ctx.actor.texts.resumed);
  });
  composer.command('links', onlyAdmins, async (ctx) => {
    const all = await links.list();
    // One link per line and nothing else: for scripts.
    return say(deps, ctx, all.length ? all.map((l) => escapeHtml(l.url)).join('\n') : ctx.actor.texts.queueEmptyAll);
  });
  return composer;
}
