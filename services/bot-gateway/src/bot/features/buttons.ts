import { Composer } from 'telegraf';
import { canManageLink } from '@dwld/domain';
import { decodeCallbackData } from '../../telegram/callback-data';
import { splitMessage } from '../../telegram/text';
import { errorMessage } from '@dwld/errors';
import { qualitySet } from '@dwld/events';
import { drawCard } from '../card';
import type { BotContext, BotDeps } from '../context';
import { renderQueue } from '../queue-view';
import { removeLink } from '../remove';
import { retryLink } from '../../retry-link';
import { selectKeyboard } from '../views';
import { cleanDownloaders } from '../../use-cases/clean-downloaders';

/** How long /clean's "are you sure?" may be answered. */
const CLEAN_CONFIRMATION_MS = 10 * 60 * 1000;


/**
 * Inline buttons. Their data carries a link id, never the URL; anything malformed, stale or
 * someone else's gets a short notice and changes nothing.
 */
export function buttonsFeature(deps: BotDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const { config, links, users } = deps;

  composer.on('callback_query', async (ctx) => {
    const { texts } = ctx.actor;
    const data = 'data' in ctx.callbackQuery ? ctx.callbackQuery.data : undefined;
    const action = decodeCallbackData(data);
    const message = ctx.callbackQuery.message;
    if (!action || !message) {
      ctx.log.info('button refused: malformed data');
      return void (await ctx.answerCbQuery(texts.badButton));
    }
    const chatId = String(message.chat.id);

    if (action.kind === 'noop') return void (await ctx.answerCbQuery());
    if (action.kind === 'filter') {
      const shown = await users.toggleQueueFilter(ctx.actor.id, action.status);
      await deps.outbox.edit({ chatId, messageId: message.message_id, text: texts.selectTitle, markup: selectKeyboard(shown, texts) });
      return void (await ctx.answerCbQuery());
    }
    if (action.kind === 'clean') {
      if (ctx.actor.role !== 'admin') return void (await ctx.answerCbQuery(texts.adminOnly));
      // One answer per question: a second press (or "Cancel" after "Yes") changes nothing.
      if (!(await deps.once.claim(`clean:${chatId}:${message.message_id}`, 24 * 3600 * 1000))) return void (await ctx.answerCbQuery(texts.cleanAnswered));
      if (!action.confirmed) {
        await deps.outbox.edit({ chatId, messageId: message.message_id, text: texts.cleanCancelled });
        return void (await ctx.answerCbQuery());
      }
      if (deps.clock().getTime() - message.date * 1000 > CLEAN_CONFIRMATION_MS) {
        await deps.outbox.edit({ chatId, messageId: message.message_id, text: texts.cleanExpired });
        return void (await ctx.answerCbQuery(texts.cleanExpired));
      }
      // Answered at once, and the buttons go: cleaning waits for every downloader, up to their deadline.
      await ctx.answerCbQuery();
      await deps.outbox.edit({ chatId, messageId: message.message_id, text: texts.cleaning });
      const cleaned = await cleanDownloaders(deps);
      const lines = cleaned.map((d) => (d.ok ? texts.cleaned(d.name, d.forgotten) : texts.cleanFailed(d.name, d.error)));
      ctx.log.info('downloaders cleaned', { downloaders: cleaned.length });
      await deps.outbox.edit({ chatId, messageId: message.message_id, text: lines.length ? lines.join('\n') : texts.noDownloaders });
      return;
    }

    const link = await links.find(action.linkId);
    if (!link) return void (await ctx.answerCbQuery(texts.linkGone));
    if (!canManageLink(ctx.actor.role, ctx.actor.id, String(link.userId))) {
      ctx.log.info('button refused: not the owner', { linkId: link.id });
      return void (await ctx.answerCbQuery(texts.notYours));
    }

    if (action.kind === 'remove' || action.kind === 'remove-listed') {
      // The card itself changes the same way whichever ✖ was pressed (removeLink); pressed under
      // /queue, the listing is drawn again without the link.
      await removeLink(deps, link, ctx.log);
      if (action.kind === 'remove-listed') {
        const listing = await renderQueue(deps, ctx.actor);
        const parts = splitMessage(listing.text);
        await deps.outbox.edit({ chatId, messageId: message.message_id, text: parts[parts.length - 1]!, ...(listing.markup ? { markup: listing.markup } : {}) });
      }
      return void (await ctx.answerCbQuery(texts.removedAnswer));
    }

    if (action.kind === 'retry') {
      const outcome = await retryLink(deps, link);
      if (!outcome.ok) return void (await ctx.answerCbQuery(outcome.why === 'gone' ? texts.linkGone : texts.notFailed));
      const { card } = await drawCard(deps, outcome.link, { texts });
      await deps.outbox.edit({ chatId, messageId: message.message_id, ...card });
      return void (await ctx.answerCbQuery(texts.retriedAnswer));
    }

    let change: { quality?: string; folder?: string | null };
    if (action.kind === 'quality') {
      if (!config.QUALITY_OPTIONS.includes(action.quality)) return void (await ctx.answerCbQuery(texts.badButton));
      change = { quality: action.quality };
    } else {
      const folder = config.FOLDERS[action.folderIndex];
      if (folder === undefined) return void (await ctx.answerCbQuery(texts.badButton));
      // The chosen folder pressed again clears the choice.
      change = { folder: link.folder === folder ? null : folder };
    }
    const outcome = await links.change(link.id, change, deps.clock());
    if (!outcome.ok) return void (await ctx.answerCbQuery(outcome.why === 'gone' ? texts.linkGone : texts.linkInFlight));
    const updated = outcome.link;
    try {
      await deps.publisher.publish(
        qualitySet,
        { linkId: updated.id, userId: String(updated.userId), quality: updated.quality, folder: updated.folder },
        { id: `quality.set:${updated.id}:${updated.updatedAt.getTime()}` },
      );
    } catch (err) {
      ctx.log.warn('quality.set not published', { linkId: updated.id, error: errorMessage(err) });
    }
    const { card } = await drawCard(deps, updated, { texts });
    await deps.outbox.edit({ chatId, messageId: message.message_id, ...card });
    await ctx.answerCbQuery(change.quality ? texts.qualitySet(change.quality) : change.folder ? texts.folderSet(change.folder) : texts.folderCleared);
  });
  return composer;
}
