import type { MessageEntity } from '../types';

/** Message text with its formatting, as Telegram stores it: plain text plus UTF-16 based entities. */
export interface FormattedText {
  text: string;
  entities: MessageEntity[];
}

/** Why an HTML text was refused; the message follows Telegram's ("Unsupported start tag "x" at byte offset 3"). */
export class HtmlParseError extends Error {
  override name = 'HtmlParseError';
}

// The tags of Telegram's "HTML style" (https://core.telegram.org/bots/api#html-style); anything
// else is refused, as Telegram does, rather than passed through.
const SUPPORTED_TAGS = new Set(['a', 'b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'tg-spoiler', 'span', 'tg-emoji', 'code', 'pre', 'blockquote']);

const SIMPLE_ENTITY_TYPES: Readonly<Record<string, string>> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  'tg-spoiler': 'spoiler',
  span: 'spoiler',
};

const NAMED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"' };

interface OpenTag {
  name: string;
  /** href of <a>, language of <code>, spoiler class of <span>, emoji-id of <tg-emoji>. */
  argument: string;
  /** Where the tag's content starts in the output text (UTF-16 units). */
  offset: number;
  expandable: boolean;
  /** Set on <pre> by a nested <code class="language-…">: the two make one pre entity. */
  language?: string;
}

function isSpace(char: string | undefined): boolean {
  return char === ' ' || char === '\t' || char === '\n' || char === '\r' || char === '\v' || char === '\f';
}

/**
 * Decodes the character reference starting at `start` (which holds '&'). Like Telegram, only
 * &lt; &gt; &amp; &quot; and numeric references are understood; anything else is a literal '&'.
 */
function decodeReference(input: string, start: number): { text: string; end: number } | undefined {
  const semicolon = input.indexOf(';', start + 1);
  if (semicolon < 0 || semicolon - start > 12) return undefined;
  const body = input.slice(start + 1, semicolon);
  const named = NAMED_ENTITIES[body];
  if (named !== undefined) return { text: named, end: semicolon + 1 };
  const numeric = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(body);
  if (!numeric) return undefined;
  const codePoint = numeric[1] !== undefined ? parseInt(numeric[1], 16) : Number(numeric[2]);
  if (codePoint <= 0 || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return undefined;
  return { text: String.fromCodePoint(codePoint), end: semicolon + 1 };
}

/** Parses Telegram-flavoured HTML (parse_mode=HTML) into plain text and entities. */
export function parseHtml(input: string): FormattedText {
  // Telegram reports positions as UTF-8 byte offsets into what the bot sent.
  const byteOffset = (index: number): number => Buffer.byteLength(input.slice(0, index), 'utf8');
  const fail = (reason: string): never => {
    throw new HtmlParseError(reason);
  };

  let text = '';
  const entities: MessageEntity[] = [];
  const open: OpenTag[] = [];
  const length = input.length;
  let i = 0;

  const closeTag = (tag: OpenTag): void => {
    const entityLength = text.length - tag.offset;
    const parent = open[open.length - 1];
    if (tag.name === 'code' && parent?.name === 'pre') {
      if (tag.argument) parent.language = tag.argument;
      return;
    }
    if (entityLength === 0) return;
    const at = { offset: tag.offset, length: entityLength };
    const simple = SIMPLE_ENTITY_TYPES[tag.name];
    if (simple) entities.push({ type: simple, ...at });
    else if (tag.name === 'a' && tag.argument) entities.push({ type: 'text_link', ...at, url: tag.argument });
    else if (tag.name === 'code') entities.push({ type: 'code', ...at });
    else if (tag.name === 'pre') entities.push({ type: 'pre', ...at, ...(tag.language ? { language: tag.language } : {}) });
    else if (tag.name === 'blockquote') entities.push({ type: tag.expandable ? 'expandable_blockquote' : 'blockquote', ...at });
    else if (tag.name === 'tg-emoji' && tag.argument) entities.push({ type: 'custom_emoji', ...at, custom_emoji_id: tag.argument });
  };

  while (i < length) {
    const char = input[i] as string;
    if (char === '&') {
      const reference = decodeReference(input, i);
      if (reference) {
        text += reference.text;
        i = reference.end;
        continue;
      }
    }
    if (char !== '<') {
      text += char;
      i++;
      continue;
    }

    const begin = i;
    i++;
    if (input[i] !== '/') {
      while (i < length && !isSpace(input[i]) && input[i] !== '>') i++;
      if (i >= length) fail(`Unclosed start tag at byte offset ${byteOffset(begin)}`);
      const name = input.slice(begin + 1, i).toLowerCase();
      if (!SUPPORTED_TAGS.has(name)) fail(`Unsupported start tag "${name}" at byte offset ${byteOffset(begin)}`);

      let argument = '';
      let expandable = false;
      for (;;) {
        while (i < length && isSpace(input[i])) i++;
        if (i >= length) fail(`Unclosed start tag "${name}" at byte offset ${byteOffset(begin)}`);
        if (input[i] === '>') break;
        const attributeBegin = i;
        while (i < length && !isSpace(input[i]) && input[i] !== '=' && input[i] !== '>') i++;
        const attribute = input.slice(attributeBegin, i).toLowerCase();
        if (!attribute) fail(`Empty attribute name in the tag "${name}" at byte offset ${byteOffset(begin)}`);
        while (i < length && isSpace(input[i])) i++;
        if (input[i] !== '=') {
          if (name === 'blockquote' && attribute === 'expandable') {
            expandable = true;
            continue;
          }
          if (i >= length) fail(`Unclosed start tag "${name}" at byte offset ${byteOffset(begin)}`);
          fail(`Expected equal sign in declaration of an attribute of the tag "${name}" at byte offset ${byteOffset(begin)}`);
        }
        i++;
        while (i < length && isSpace(input[i])) i++;
        if (i >= length) fail(`Unclosed start tag "${name}" at byte offset ${byteOffset(begin)}`);

        let value = '';
        const quote = input[i];
        if (quote !== '"' && quote !== "'") {
          // An unquoted value is an HTML name token: letters, digits, periods and hyphens.
          const tokenBegin = i;
          while (i < length && /[A-Za-z0-9.-]/.test(input[i] as string)) i++;
          value = input.slice(tokenBegin, i).toLowerCase();
          if (i < length && !isSpace(input[i]) && input[i] !== '>') fail(`Unexpected end of name token at byte offset ${byteOffset(tokenBegin)}`);
        } else {
          i++;
          while (i < length && input[i] !== quote) {
            if (input[i] === '&') {
              const reference = decodeReference(input, i);
              if (reference) {
                value += reference.text;
                i = reference.end;
                continue;
              }
            }
            value += input[i];
            i++;
          }
          if (i >= length) fail(`Unclosed end of attribute value at byte offset ${byteOffset(begin)}`);
          i++;
        }

        if (name === 'a' && attribute === 'href') argument = value;
        else if (name === 'code' && attribute === 'class' && value.startsWith('language-')) argument = value.slice('language-'.length);
        else if (name === 'span' && attribute === 'class' && value.startsWith('tg-')) argument = value.slice('tg-'.length);
        else if (name === 'tg-emoji' && attribute === 'emoji-id') argument = value;
      }
      if (name === 'span' && argument !== 'spoiler') fail(`Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(begin)}`);
      i++;
      open.push({ name, argument, offset: text.length, expandable });
    } else {
      if (open.length === 0) fail(`Unexpected end tag at byte offset ${byteOffset(begin)}`);
      i++;
      const nameBegin = i;
      while (i < length && !isSpace(input[i]) && input[i] !== '>') i++;
      const endName = input.slice(nameBegin, i).toLowerCase();
      while (i < length && isSpace(input[i])) i++;
      if (input[i] !== '>') fail(`Unclosed end tag at byte offset ${byteOffset(begin)}`);
      i++;
      const tag = open.pop() as OpenTag;
      if (endName && endName !== tag.name) {
        fail(`Unmatched end tag at byte offset ${byteOffset(begin)}, expected "</${tag.name}>", found "</${endName}>"`);
      }
      closeTag(tag);
    }
  }
  const unclosed = open[open.length - 1];
  if (unclosed) fail(`Can't find end tag corresponding to start tag "${unclosed.name}"`);

  return { text, entities: sortEntities(entities) };
}

/** Telegram's order: by offset, and an enclosing entity before the ones inside it. */
export function sortEntities(entities: MessageEntity[]): MessageEntity[] {
  return [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
}
