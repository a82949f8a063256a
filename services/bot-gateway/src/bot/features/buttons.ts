import { Composer } from 'telegraf';
import { canManageLink, decodeCallbackData } from '@dwld/domain';
import { qualitySet } from '@dwld/events';
import type { BotContext, BotDeps } from '../context';
import { removeLink } from '../remove';
import { linkKeyboard, linkView, selectKeyboard } from '../views';

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

    const link = await links.find(action.linkId);
    if (!link) return void (await ctx.answerCbQuery(texts.linkGone));
    if (!canManageLink(ctx.actor.role, ctx.actor.id, String(link.userId))) {
      ctx.log.info('button refused: not the owner', { linkId: link.id });
      return void (await ctx.answerCbQuery(texts.notYours));
    }

    if (action.kind === 'remove') {
      await removeLink(deps, link, ctx.log);
      await deps.outbox.edit({ chatId, messageId: message.message_id, text: texts.removed(link.url) });
      await deps.outbox.delete(chatId, message.message_id, { delayMs: config.SERVICE_MESSAGE_TTL_S || 1 });
      return void (await ctx.answerCbQuery(texts.removed(link.url).replace(/<[^>]+>/g, '')));
    }

    let change: { quality?: string; folder?: string | null };
    if (action.kind === 'quality') {
      if (!config.QUALITY_OPTIONS.includes(action.quality)) return void (await ctx.answerCbQuery(texts.badButton));
      change = { quality: action.quality };
    } else {
      const folder = config.FOLDERS[action.folderIndex];
      if (folder === undefined) return void (await ctx.answerCbQuery(texts.badButton));
      change = { folder };
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
      ctx.log.warn('quality.set not published', { linkId: updated.id, error: (err as Error).message });
    }
    await deps.outbox.edit({
      chatId,
      messageId: message.message_id,
      text: texts.linkQueued(linkView(updated), config.FOLDERS.length > 0, deps.clock()),
      markup: linkKeyboard(updated, config),
    });
    await ctx.answerCbQuery(change.quality ? texts.qualitySet(change.quality) : texts.folderSet(change.folder ?? ''));
  });
  return composer;
}
