import { splitMessage } from '../telegram/text';
import type { Markup, ServiceReplyKind } from '../telegram/outbox';
import type { BotContext, BotDeps } from './context';
import { errorMessage } from '@dwld/errors';

export interface SayOptions {
  markup?: Markup;
  replyTo?: number;
  /** A service reply: deleted after SERVICE_MESSAGE_TTL_S. */
  transient?: boolean;
  linkReplyOf?: number;
  /** With linkReplyOf: whether the card was drawn as paused. */
  drawnPaused?: boolean;
  /** An idempotency key: the outbox drops a second answer with the same key. */
  jobId?: string;
  /** A service reply of this kind: it may coalesce with one of its kind or make way under a backlog (see SERVICE_REPLY_KINDS); unset: owed. */
  service?: ServiceReplyKind;
}

/**
 * Answers in the update's chat through the outbox (rate-limited, durable). Long answers are
 * split under Telegram's limit. If the outbox itself is unreachable (Redis down), the answer
 * goes out directly: a person must still hear what happened to their link.
 */
export async function say(deps: BotDeps, ctx: BotContext, html: string, options: SayOptions = {}): Promise<void> {
  const chatId = String(ctx.chat?.id ?? ctx.from?.id);
  const parts = splitMessage(html);
  const ttl = options.transient && deps.config.SERVICE_MESSAGE_TTL_S > 0 ? deps.config.SERVICE_MESSAGE_TTL_S : undefined;
  try {
    await deps.outbox.send({
      chatId,
      text: parts.length === 1 ? parts[0]! : parts,
      ...(options.markup ? { markup: options.markup } : {}),
      ...(options.replyTo ? { replyTo: options.replyTo } : {}),
      ...(ttl ? { deleteAfterMs: ttl } : {}),
      ...(options.linkReplyOf !== undefined ? { linkReplyOf: options.linkReplyOf } : {}),
      ...(options.drawnPaused !== undefined ? { drawnPaused: options.drawnPaused } : {}),
      ...(options.service ? { service: options.service } : {}),
    }, options.jobId ? { jobId: options.jobId } : undefined);
  } catch (err) {
    ctx.log.warn('outbox unavailable: answering directly', { error: errorMessage(err) });
    let last: { message_id: number } | undefined;
    for (const [i, part] of parts.entries()) {
      last = await ctx.telegram.sendMessage(chatId, part, {
        parse_mode: 'HTML',
        link_preview_options: { is_disabled: true },
        ...(i === parts.length - 1 && options.markup ? { reply_markup: options.markup } : {}),
      });
    }
    if (last && options.linkReplyOf !== undefined) await deps.links.setReplyMessageId(options.linkReplyOf, last.message_id).catch(() => false);
  }
}
