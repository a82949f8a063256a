import { Markup } from 'telegraf';
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'telegraf/types';
import type { Link } from '@dwld/db';
import { encodeCallbackData } from '../telegram/callback-data';
import type { GatewayConfig } from '../config';
import type { FailureKind, LinkView, PauseView, Texts } from '../texts';

const FAILURE_KINDS: ReadonlySet<string> = new Set<FailureKind>(['no_downloader', 'unavailable', 'refused', 'internal']);

export function linkView(link: Link): LinkView {
  return {
    id: link.id,
    url: link.url,
    host: link.host,
    quality: link.quality,
    folder: link.folder,
    sendAt: link.sendAt,
    attempts: link.attempts,
    failed: link.status === 'failed',
    failureKind: link.lastErrorKind !== null && FAILURE_KINDS.has(link.lastErrorKind) ? (link.lastErrorKind as FailureKind) : null,
    failureReason: link.lastErrorReason,
    lastError: link.lastError,
  };
}

/** What a card needs besides the link: the person's words, the moment, and whether dispatching is paused. */
export interface CardContext {
  config: Pick<GatewayConfig, 'FOLDERS' | 'QUALITY_OPTIONS'>;
  texts: Texts;
  now: Date;
  /** Null while dispatching runs. */
  pause: PauseView | null;
}

export interface Card {
  text: string;
  /** Absent on a card with nothing left to press (removed): an edit without it clears the keyboard. */
  markup?: InlineKeyboardMarkup;
}

/** Buttons laid out `size` to a row. */
export function rows<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The keyboard under a waiting link: quality, folder (when configured; a second press clears it), remove. */
export function linkKeyboard(link: Pick<Link, 'id' | 'quality' | 'folder'>, config: CardContext['config'], texts: Texts): InlineKeyboardMarkup {
  const quality = config.QUALITY_OPTIONS.map((q) =>
    Markup.button.callback(q === link.quality ? `✓ ${q}` : q, encodeCallbackData({ kind: 'quality', linkId: link.id, quality: q })),
  );
  const folders = config.FOLDERS.map((f, index) =>
    Markup.button.callback(f === link.folder ? `✓ ${f}` : f, encodeCallbackData({ kind: 'folder', linkId: link.id, folderIndex: index })),
  );
  const keyboard: InlineKeyboardButton[][] = [...rows(quality, 4), ...rows(folders, 3), [removeButton(link, texts)]];
  return { inline_keyboard: keyboard };
}

function removeButton(link: Pick<Link, 'id'>, texts: Texts): InlineKeyboardButton {
  return Markup.button.callback(texts.removeButton, encodeCallbackData({ kind: 'remove', linkId: link.id }));
}

/**
 * A link's card (the bot's reply to it), in the one place it is written: a headline that
 * matches the state (queued, waiting to retry, paused, not downloaded), the choices, and what
 * happens next in words a person can act on. The technical error is for admins' /queue and
 * the logs, never the card.
 */
export function renderCard(link: Link, context: CardContext): Card {
  const { texts, now, pause, config } = context;
  const view = linkView(link);
  const lines: string[] = [];
  const headline = view.failed ? texts.card.failed : pause ? texts.card.paused : view.attempts > 0 ? texts.card.retrying : texts.card.queued;
  lines.push(texts.cardTitle(headline, view.url), texts.qualityLine(view.quality));
  if (config.FOLDERS.length > 0) lines.push(texts.folderLine(view.folder));
  if (view.attempts > 0 || view.failed) lines.push(texts.failure(view));
  if (view.failed) {
    // Nothing left to choose: try it again, or take it off the queue.
    lines.push(texts.gaveUp(view.attempts));
    const retry = Markup.button.callback(texts.retryButton, encodeCallbackData({ kind: 'retry', linkId: link.id }));
    return { text: lines.join('\n'), markup: { inline_keyboard: [[retry, removeButton(link, texts)]] } };
  }
  if (pause) lines.push(texts.pausedNote);
  else if (view.attempts > 0) lines.push(texts.nextTry(view.sendAt, now, view.attempts + 1));
  else lines.push(texts.sending(view.sendAt, now));
  return { text: lines.join('\n'), markup: linkKeyboard(link, config, texts) };
}

/** A removed link's card: what it was, and that it is gone (no buttons left). */
export function renderRemovedCard(link: Pick<Link, 'url'>, texts: Texts): Card {
  return { text: texts.cardTitle(texts.card.removed, link.url) };
}
