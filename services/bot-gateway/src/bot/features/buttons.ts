import { Composer } from 'telegraf';
import type { Link } from '@dwld/db';
import { decodeCallbackData } from '../../telegram/callback-data';
import { splitMessage } from '../../telegram/text';
import { drawCard } from '../card';
import type { BotContext, BotDeps } from '../context';
import { renderQueue } from '../queue-view';
import { selectKeyboard } from '../views';
import { pickFolder, setQuality } from '../../use-cases/change-link';
import { cleanDownloaders } from '../../use-cases/clean-downloaders';
import { removeLink } from '../../use-cases/remove-link';
import { retryLink } from '../../use-cases/retry-link';

/** How long /clean's "are you sure?" may be answered. */
const CLEAN_CONFIRMATION_MS = 10 * 60 * 1000;


/**
 * Inline buttons. Their data carries a link id, never the URL; anything malformed, stale or
 * someone else's gets a short notice and changes nothing.
 */
export function buttonsFeature(deps: BotDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const { users } = deps;

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

    // The rest act on one link, through the use-cases; a refusal is answered in a few words.
    const refuse = (why: 'gone' | 'not_yours' | 'not_a_choice' | 'in_flight' | 'not_failed') => {
      if (why === 'not_yours') ctx.log.info('button refused: not the owner', { linkId: action.linkId });
      const words = { gone: texts.linkGone, not_yours: texts.notYours, not_a_choice: texts.badButton, in_flight: texts.linkInFlight, not_failed: texts.notFailed }[why];
      return ctx.answerCbQuery(words).then(() => undefined);
    };
    const redraw = async (link: Link) => {
      const { card } = await drawCard(deps, link, { texts });
      await deps.outbox.edit({ chatId, messageId: message.message_id, ...card });
    };

    if (action.kind === 'remove' || action.kind === 'remove-listed') {
      // The card itself changes the same way whichever ✖ was pressed (removeLink); pressed under
      // /queue, the listing is drawn again without the link.
      const outcome = await removeLink(deps, ctx.actor, action.linkId, ctx.log);
      if (!outcome.ok) return refuse(outcome.why);
      if (action.kind === 'remove-listed') {
        const listing = await renderQueue(deps, ctx.actor);
        const parts = splitMessage(listing.text);
        await deps.outbox.edit({ chatId, messageId: message.message_id, text: parts[parts.length - 1]!, ...(listing.markup ? { markup: listing.markup } : {}) });
      }
      return void (await ctx.answerCbQuery(texts.removedAnswer));
    }

    if (action.kind === 'retry') {
      const outcome = await retryLink(deps, ctx.actor, action.linkId, ctx.log);
      if (!outcome.ok) return refuse(outcome.why);
      await redraw(outcome.link);
      return void (await ctx.answerCbQuery(texts.retriedAnswer));
    }

    if (action.kind === 'quality') {
      const outcome = await setQuality(deps, ctx.actor, action.linkId, action.quality, ctx.log);
      if (!outcome.ok) return refuse(outcome.why);
      await redraw(outcome.link);
      return void (await ctx.answerCbQuery(texts.qualitySet(outcome.link.quality)));
    }

    const outcome = await pickFolder(deps, ctx.actor, action.linkId, { index: action.folderIndex }, ctx.log);
    if (!outcome.ok) return refuse(outcome.why);
    await redraw(outcome.link);
    await ctx.answerCbQuery(outcome.link.folder ? texts.folderSet(outcome.link.folder) : texts.folderCleared);
  });
  return composer;
}
