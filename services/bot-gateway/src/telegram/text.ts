/** Telegram's limit on a message's text. */
export const TELEGRAM_MESSAGE_LIMIT = 4096;
/** splitMessage's smallest limit: room for reopened tags plus at least one entity or character. */
export const MIN_SPLIT_LIMIT = 32;

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** Escapes text for Telegram's HTML parse mode: &, <, > everywhere and " inside attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (char) => HTML_ESCAPES[char] ?? char);
}

type Token =
  | { kind: 'text'; raw: string; separator: 'newline' | 'space' | null; blank: boolean }
  | { kind: 'open'; raw: string; name: string; close: string }
  | { kind: 'close'; raw: string; name: string };

type OpenTag = { raw: string; close: string };

const TAG = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?>/y;
// At most 10 characters, so one entity always fits after the reopened tags.
const ENTITY = /&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,7});/y;

/** Tags, entities and single code points: the pieces a message is never cut inside. */
function tokenize(html: string): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  while (position < html.length) {
    const char = html[position];
    const pattern = char === '<' ? TAG : char === '&' ? ENTITY : null;
    const match = pattern === null ? null : matchAt(pattern, html, position);
    if (match !== null && pattern === TAG) {
      const name = (match[2] ?? '').toLowerCase();
      tokens.push(match[1] === '/' ? { kind: 'close', raw: match[0], name } : { kind: 'open', raw: match[0], name, close: `</${match[2] ?? ''}>` });
      position += match[0].length;
      continue;
    }
    const source = match !== null ? match[0] : String.fromCodePoint(html.codePointAt(position) ?? 0);
    // A <, > or & that starts no tag or entity would make Telegram refuse the message: escape it.
    const raw = match !== null ? source : escapeHtml(source).replace('&quot;', '"');
    const separator = raw === '\n' ? 'newline' : raw === ' ' ? 'space' : null;
    tokens.push({ kind: 'text', raw, separator, blank: /^\s$/u.test(raw) });
    position += source.length;
  }
  return tokens;
}

function matchAt(pattern: RegExp, text: string, position: number): RegExpExecArray | null {
  pattern.lastIndex = position;
  return pattern.exec(text);
}

/**
 * Drops closing tags that close nothing (the output must stay parseable) and tag pairs that
 * would make the open tags cost more than `budget` characters to close and reopen: then
 * every chunk has room for text after its reopened tags. Tags left open are closed at the end.
 */
function balance(tokens: readonly Token[], budget: number): Token[] {
  const kept: Token[] = [];
  const open: Array<{ name: string; cost: number; dropped: boolean }> = [];
  let used = 0;
  for (const token of tokens) {
    if (token.kind === 'open') {
      const cost = token.raw.length + token.close.length;
      const dropped = used + cost > budget;
      open.push({ name: token.name, cost, dropped });
      if (!dropped) {
        used += cost;
        kept.push(token);
      }
    } else if (token.kind === 'close') {
      const innermost = open.at(-1);
      if (innermost === undefined || innermost.name !== token.name) continue;
      open.pop();
      if (!innermost.dropped) {
        used -= innermost.cost;
        kept.push(token);
      }
    } else {
      kept.push(token);
    }
  }
  return kept;
}

type Cut = { end: number; next: number };

/**
 * Where the chunk starting at `start` ends: at the last line break that fits, else the last
 * space, else as late as fits. `end` excludes the separator, `next` skips it. A separator only
 * counts after some visible non-blank text, so no chunk is blank because of it.
 */
function findCut(tokens: readonly Token[], start: number, openAtStart: readonly OpenTag[], limit: number): Cut {
  let length = tagsLength(openAtStart);
  let lastNewline = -1;
  let lastSpace = -1;
  let hasText = false;
  for (let index = start; index < tokens.length; index++) {
    const token = tokens[index] as Token;
    // Opening a tag also commits to closing it; a closing tag replaces the close already counted.
    const growth = token.kind === 'open' ? token.raw.length + token.close.length : token.kind === 'close' ? 0 : token.raw.length;
    if (length + growth > limit) {
      const separator = hasText && token.kind === 'text' ? token.separator : null;
      if (separator === 'newline') return { end: index, next: index + 1 };
      if (lastNewline >= 0) return { end: lastNewline, next: lastNewline + 1 };
      if (separator === 'space') return { end: index, next: index + 1 };
      if (lastSpace >= 0) return { end: lastSpace, next: lastSpace + 1 };
      // balance() leaves room for a first token after the reopened tags; max() only guards progress.
      const hard = Math.max(index, start + 1);
      return { end: hard, next: hard };
    }
    length += growth;
    if (token.kind === 'text') {
      if (hasText && token.separator === 'newline') lastNewline = index;
      if (hasText && token.separator === 'space') lastSpace = index;
      if (!token.blank) hasText = true;
    }
  }
  return { end: tokens.length, next: tokens.length };
}

function tagsLength(open: readonly OpenTag[]): number {
  return open.reduce((sum, tag) => sum + tag.raw.length + tag.close.length, 0);
}

function openAfter(openBefore: readonly OpenTag[], tokens: readonly Token[]): OpenTag[] {
  const open = [...openBefore];
  for (const token of tokens) {
    if (token.kind === 'open') open.push({ raw: token.raw, close: token.close });
    else if (token.kind === 'close') open.pop();
  }
  return open;
}

/** The tokens, after the tags open before them are reopened and followed by closes for those open after them. */
function render(body: readonly Token[], openBefore: readonly OpenTag[], openAtEnd: readonly OpenTag[]): string {
  const reopen = openBefore.map((tag) => tag.raw).join('');
  const close = openAtEnd.map((tag) => tag.close).reverse().join('');
  return reopen + body.map((token) => token.raw).join('') + close;
}

const SPECIAL = /[<>&]/g;

/** True when tokenizing and balancing would give `html` back unchanged: every tag closed in order, every < > & part of a tag or entity. */
function isWellFormed(html: string): boolean {
  const open: string[] = [];
  SPECIAL.lastIndex = 0;
  for (let found = SPECIAL.exec(html); found !== null; found = SPECIAL.exec(html)) {
    const position = found.index;
    const match = found[0] === '<' ? matchAt(TAG, html, position) : found[0] === '&' ? matchAt(ENTITY, html, position) : null;
    if (match === null) return false;
    if (found[0] === '<') {
      const name = (match[2] ?? '').toLowerCase();
      if (match[1] !== '/') open.push(name);
      else if (open.pop() !== name) return false;
    }
    SPECIAL.lastIndex = position + match[0].length;
  }
  return open.length === 0;
}

/**
 * Splits a message of Telegram HTML (escaped text and tags such as <b>, <code>, <a href="…">)
 * into chunks of at most `limit` characters of raw HTML (so also of visible text). Cuts at a
 * line break when one fits, else at a space, else anywhere between characters; never inside a
 * tag, an entity or a surrogate pair. The separator at a cut is dropped. Tags open at a cut are
 * closed at the end of the chunk and reopened at the start of the next, so each chunk is
 * balanced. Malformed input is repaired rather than passed on: stray closing tags are dropped,
 * unclosed tags closed at the end, and a <, > or & that is not part of a tag or entity escaped.
 */
export function splitMessage(html: string, limit: number = TELEGRAM_MESSAGE_LIMIT): string[] {
  if (!Number.isSafeInteger(limit) || limit < MIN_SPLIT_LIMIT) throw new RangeError(`limit must be a whole number of at least ${MIN_SPLIT_LIMIT}, got ${limit}`);
  // Nearly every message (every reply the bot writes) fits and needs no repair: no tokens then.
  if (html.length <= limit && isWellFormed(html)) return html === '' ? [] : [html];
  const pieces = tokenize(html);
  // A message that fits keeps all its tags; only one that must be cut needs room to reopen them.
  const whole = balance(pieces, Number.POSITIVE_INFINITY);
  const asOne = render(whole, [], openAfter([], whole));
  if (asOne.length <= limit) return asOne === '' ? [] : [asOne];
  const tokens = balance(pieces, Math.floor(limit / 2));
  const chunks: string[] = [];
  let open: OpenTag[] = [];
  let start = 0;
  while (start < tokens.length) {
    const { end, next } = findCut(tokens, start, open, limit);
    const body = tokens.slice(start, end);
    const openAtEnd = openAfter(open, body);
    chunks.push(render(body, open, openAtEnd));
    // Tokens between end and next are a separator: text, so the open tags stay as they are.
    open = openAtEnd;
    start = next;
  }
  return chunks;
}
