import { Markup } from 'telegraf';
import type { InlineKeyboardMarkup } from 'telegraf/types';
import type { Link } from '@dwld/db';
import { encodeCallbackData } from '../telegram/callback-data';
import { QUEUE_STATUSES, type QueueStatus } from '../store/link-queue';
import type { Texts } from '../texts';
import { rows } from './card';

export function selectKeyboard(shown: readonly QueueStatus[], texts: Texts): InlineKeyboardMarkup {
  return {
    inline_keyboard: [
      QUEUE_STATUSES.map((status) => Markup.button.callback(`${shown.includes(status) ? '✅' : '⬜'} ${texts.statusName[status]}`, encodeCallbackData({ kind: 'filter', status }))),
    ],
  };
}

/** /queue's buttons: one ✖ per listed link (Telegram takes 100 buttons a message at most). */
export function removeButtons(links: Link[]): InlineKeyboardMarkup {
  return { inline_keyboard: rows(links.slice(0, 100).map((l) => Markup.button.callback(`✖ #${l.id}`, encodeCallbackData({ kind: 'remove-listed', linkId: l.id }))), 5) };
}
