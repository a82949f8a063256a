import { Composer } from 'telegraf';
import { message } from 'telegraf/filters';
import { extractLinks } from '@dwld/domain';
import type { Link } from '../../store/link-queue';
import type { BotContext, BotDeps } from '../context';
import { say } from '../reply';
import { drawCard } from '../card';

// Telegram marks only http(s)-looking text as links; "javascript:…" or "ftp:…" must still get
// a clear refusal rather than "no link found".
const SCHEME_TOKEN = /^[a-z][a-z0-9+.-]{1,31}:\S+$/i;

function candidateLinks(text: string, entities: Parameters<typeof extractLinks>[1]): string[] {
  const marked = extractLinks(text, entities);
  if (marked.length > 0) return marked;
  const scanned = extractLinks(text);
  if (scanned.length > 0) return scanned;
  return text.split(/\s+/).filter((token) => SCHEME_TOKEN.test(token));
}

/** A message with links queues each of them, with a reply per link carrying its keyboard. */
export function linksFeature(deps: BotDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const { config, addLinks } = deps;

  composer.on([message('text'), message('caption')], async (ctx) => {
    const msg = ctx.message;
    const text = 'text' in msg ? msg.text : msg.caption;
    const entities = 'text' in msg ? msg.entities : msg.caption_entities;
    // Unknown commands fall through to here; they are not links.
    if (text.startsWith('/')) return say(deps, ctx, ctx.actor.texts.help(ctx.actor.role === 'admin', ctx.actor.wayIn === 'phone'), { transient: true, service: 'help' });
    const { texts } = ctx.actor;
    const found = candidateLinks(text, entities);
    if (found.length === 0) return say(deps, ctx, texts.noLinks, { replyTo: msg.message_id, transient: true, service: 'no-links' });
    const capped = addLinks.cap(found);
    if (capped.dropped > 0) await say(deps, ctx, texts.tooManyLinks(config.MAX_LINKS_PER_MESSAGE, capped.dropped), { replyTo: msg.message_id, transient: true, service: 'too-many-links' });
    const admitted = await addLinks.admit(ctx.actor.id, capped.taken);
    if (admitted.refused > 0) {
      ctx.log.info('link rate limit reached', { wanted: capped.taken.length, allowed: admitted.taken.length });
      await say(deps, ctx, texts.slowDown(config.LINKS_PER_MINUTE, Math.ceil(admitted.retryAfterMs / 1000), admitted.refused), { replyTo: msg.message_id, transient: true, service: 'slow-down' });
    }

    const sayQueued = async (link: Link) => {
      const { card, paused } = await drawCard(deps, link, { texts });
      await say(deps, ctx, card.text, {
        ...(card.markup ? { markup: card.markup } : {}),
        replyTo: msg.message_id,
        linkReplyOf: link.id,
        drawnPaused: paused,
        jobId: `queued-reply-${link.id}`,
      });
    };

    addLinks.prepare(admitted.taken);
    for (const raw of admitted.taken) {
      const outcome = await addLinks.add({
        raw,
        userId: ctx.actor.id,
        chatId: String(ctx.chat.id),
        username: ctx.actor.username,
        ownerName: ctx.actor.name,
        messageId: msg.message_id,
      });
      ctx.log.info('link intake', { status: outcome.status, ...(outcome.status === 'rejected' ? { reason: outcome.reason } : {}) });
      switch (outcome.status) {
        case 'queued':
          await sayQueued(outcome.link);
          break;
        case 'duplicate':
          if (outcome.link.messageId === msg.message_id && String(outcome.link.chatId) === String(ctx.chat.id)) {
            // This very message again (Telegram redelivered it after a crash): its link's reply,
            // unless it was delivered; the outbox drops it too when it was queued before the crash.
            if (outcome.link.replyMessageId === null) await sayQueued(outcome.link);
          } else await say(deps, ctx, texts.linkDuplicate(outcome.link.url), { replyTo: msg.message_id, transient: true });
          break;
        case 'handed_over':
          // Redelivered after its link was handed over: the dispatch result tells the person,
          // once; saying it here too would tell them twice.
          ctx.log.info('redelivered message: its link was handed over already', { downloader: outcome.downloader });
          break;
        case 'rejected':
          await say(deps, ctx, texts.linkRejected(raw, outcome.reason), { replyTo: msg.message_id, transient: true });
          break;
        case 'urgent':
          await say(deps, ctx, texts.urgent(outcome.url), { replyTo: msg.message_id });
          break;
        case 'not_queued':
          await say(deps, ctx, texts.notQueued(outcome.url), { replyTo: msg.message_id });
          break;
        case 'not_a_choice':
          // A chat message chooses neither quality nor folder: the card's buttons do, later.
          break;
      }
    }
  });
  // Whatever else a person sends (a sticker, a photo without caption, their contact while
  // already allowed in) still gets an answer.
  composer.on('message', (ctx) =>
    say(deps, ctx, 'contact' in ctx.message ? ctx.actor.texts.alreadyAllowed : ctx.actor.texts.noLinks, { replyTo: ctx.message.message_id, transient: true, service: 'no-links' }),
  );
  // Telegram sends edits as their own updates; acting on them would queue links twice.
  composer.on('edited_message', (ctx) => say(deps, ctx, ctx.actor.texts.editIgnored, { transient: true, service: 'edit-ignored' }));
  return composer;
}
