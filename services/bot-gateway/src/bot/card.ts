import { Markup } from 'telegraf';
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'telegraf/types';
import type { Link } from '@dwld/db';
import { isDownloaderFailure } from '@dwld/errors';
import { encodeCallbackData } from '../telegram/callback-data';
import type { GatewayConfig } from '../config';
import type { DispatchPauseState } from '../dispatch-pause';
import type { UserStore } from '../store/users';
import { textsForUser, type LinkView, type PauseView, type Texts } from '../texts';

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
    failureKind: isDownloaderFailure(link.lastErrorKind) ? link.lastErrorKind : null,
    failureReason: link.lastErrorReason,
    lastError: link.lastError,
  };
}

/** What drawing a card reads besides the link: the settings, the owner's language, the pause switch, the clock. */
export interface CardDeps {
  config: Pick<GatewayConfig, 'FOLDERS' | 'QUALITY_OPTIONS' | 'DEFAULT_LANGUAGE'>;
  users: Pick<UserStore, 'find'>;
  pause: Pick<DispatchPauseState, 'current'>;
  clock: () => Date;
}

export interface DrawOptions {
  /**
   * The words of the person the card is drawn for, when the caller has them (the person who
   * pressed or sent): saves looking the owner up. Otherwise the owner's stored language.
   */
  texts?: Texts;
  /** The link was just removed: its card says so, with nothing left to press. */
  removed?: boolean;
}

export interface Card {
  text: string;
  /** Absent on a card with nothing left to press (removed): an edit without it clears the keyboard. */
  markup?: InlineKeyboardMarkup;
}

export interface DrawnCard {
  card: Card;
  /** Whether it was drawn as paused: a card that waits in the outbox is checked again once it is out. */
  paused: boolean;
}

/** Buttons laid out `size` to a row. */
export function rows<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The keyboard under a waiting link: quality, folder (when configured; a second press clears it), remove. */
function linkKeyboard(link: Pick<Link, 'id' | 'quality' | 'folder'>, config: CardDeps['config'], texts: Texts): InlineKeyboardMarkup {
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
 * A link's card (the bot's reply to it), the one place it is drawn, by every way it is drawn
 * (the reply to a new link, a button pressed on it, a dispatch result, a pause switch, a removal,
 * a link added over HTTP): a headline that matches the state (queued, waiting to retry, paused,
 * not downloaded, removed), the choices, and what happens next in words a person can act on.
 * The technical error is for admins' /queue and the logs, never the card.
 */
export async function drawCard(deps: CardDeps, link: Link, options: DrawOptions = {}): Promise<DrawnCard> {
  const texts = options.texts ?? textsForUser(await deps.users.find(String(link.userId)), deps.config.DEFAULT_LANGUAGE);
  if (options.removed) return { card: { text: texts.cardTitle(texts.card.removed, link.url) }, paused: false };
  const pause = await deps.pause.current();
  return { card: renderCard(link, deps.config, texts, deps.clock(), pause), paused: pause !== null };
}

function renderCard(link: Link, config: CardDeps['config'], texts: Texts, now: Date, pause: PauseView | null): Card {
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
