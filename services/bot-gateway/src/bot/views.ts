import { Markup } from 'telegraf';
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'telegraf/types';
import type { Link } from '@dwld/db';
import { encodeCallbackData } from '@dwld/domain';
import type { GatewayConfig } from '../config';
import { queueStatusOf, QUEUE_STATUSES, type QueueStatus } from '../store/links';
import type { LinkView, Texts } from '../texts';

export function linkView(link: Link): LinkView {
  return {
    id: link.id,
    url: link.url,
    quality: link.quality,
    folder: link.folder,
    sendAt: link.sendAt,
    attempts: link.attempts,
    lastError: link.lastError,
    failed: link.status === 'failed',
    owner: link.username ? `@${link.username}` : String(link.userId),
  };
}

function rows<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The keyboard under a queued link: quality, folder (when configured), remove. */
export function linkKeyboard(link: Link, config: GatewayConfig): InlineKeyboardMarkup {
  const quality = config.QUALITY_OPTIONS.map((q) =>
    Markup.button.callback(q === link.quality ? `✓ ${q}` : q, encodeCallbackData({ kind: 'quality', linkId: link.id, quality: q })),
  );
  const folders = config.FOLDERS.map((f, index) =>
    Markup.button.callback(f === link.folder ? `✓ ${f}` : f, encodeCallbackData({ kind: 'folder', linkId: link.id, folderIndex: index })),
  );
  const keyboard: InlineKeyboardButton[][] = [...rows(quality, 4), ...rows(folders, 3), [Markup.button.callback('✖', encodeCallbackData({ kind: 'remove', linkId: link.id }))]];
  return { inline_keyboard: keyboard };
}

export function selectKeyboard(shown: readonly QueueStatus[], texts: Texts): InlineKeyboardMarkup {
  return {
    inline_keyboard: [
      QUEUE_STATUSES.map((status) => Markup.button.callback(`${shown.includes(status) ? '✅' : '⬜'} ${texts.statusName[status]}`, encodeCallbackData({ kind: 'filter', status }))),
    ],
  };
}

export function removeButtons(links: Link[]): InlineKeyboardMarkup {
  return { inline_keyboard: rows(links.map((l) => Markup.button.callback(`✖ #${l.id}`, encodeCallbackData({ kind: 'remove', linkId: l.id }))), 5) };
}

export { queueStatusOf };
