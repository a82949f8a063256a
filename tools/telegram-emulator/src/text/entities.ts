import type { MessageEntity } from '../types';
import { type FormattedText, sortEntities } from './html-parser';

/**
 * Telegram strips leading and trailing whitespace from message text and shifts the entities to
 * match; a text that is only whitespace becomes empty (and is then refused).
 */
export function trimFormatted({ text, entities }: FormattedText): FormattedText {
  const leading = text.length - text.trimStart().length;
  const trimmed = text.trim();
  const shifted: MessageEntity[] = [];
  for (const entity of entities) {
    const start = Math.max(0, entity.offset - leading);
    const end = Math.min(trimmed.length, entity.offset + entity.length - leading);
    if (end > start) shifted.push({ ...entity, offset: start, length: end - start });
  }
  return { text: trimmed, entities: shifted };
}

// Top-level domains recognised without a scheme ("example.com/x"); Telegram knows them all,
// a handful of common ones is enough for tests.
const BARE_TLDS = 'com|net|org|io|dev|app|me|co|ru|uk|de|fr|info|biz|tv|be|ly|gl|gg|xyz|site|ai|cc|us|eu|nl|it|es|pl|jp|in|ua|to';

const PATTERNS: Array<{ type: string; pattern: RegExp }> = [
  { type: 'email', pattern: /(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w@])/g },
  { type: 'url', pattern: /(?<![\w@/.-])(?:https?|ftp):\/\/[^\s<>"]+/gi },
  { type: 'url', pattern: new RegExp(`(?<![\\w@/.-])(?:[A-Za-z0-9-]+\\.)+(?:${BARE_TLDS})(?::\\d{1,5})?(?:[/?#][^\\s<>"]*)?(?![\\w-])`, 'gi') },
  { type: 'bot_command', pattern: /(?<![\w/@])\/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])/g },
  { type: 'mention', pattern: /(?<![\w@])@[A-Za-z0-9_]{4,32}(?![\w@])/g },
];

/** Drops trailing punctuation that ends a sentence rather than the URL, as Telegram does. */
function trimUrl(url: string): string {
  let end = url.length;
  for (;;) {
    const last = url[end - 1];
    if (last && '.,;:!?\'"'.includes(last)) end--;
    else if (last === ')' && (url.slice(0, end).match(/\(/g)?.length ?? 0) < (url.slice(0, end).match(/\)/g)?.length ?? 0)) end--;
    else return url.slice(0, end);
  }
}

/**
 * The entities Telegram's servers find by themselves in text a person sends: links, e-mail
 * addresses, /commands and @mentions. Telegraf's command routing depends on the bot_command one.
 */
export function detectEntities(text: string): MessageEntity[] {
  const found: MessageEntity[] = [];
  const overlaps = (offset: number, length: number) => found.some((e) => offset < e.offset + e.length && e.offset < offset + length);
  for (const { type, pattern } of PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      const value = type === 'url' ? trimUrl(match[0]) : match[0];
      const offset = match.index ?? 0;
      if (value.length > 0 && !overlaps(offset, value.length)) found.push({ type, offset, length: value.length });
    }
  }
  return sortEntities(found);
}
