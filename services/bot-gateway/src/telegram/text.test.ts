import fc from 'fast-check';
import { escapeHtml, MIN_SPLIT_LIMIT, splitMessage, TELEGRAM_MESSAGE_LIMIT } from './text';

const ENTITIES: Readonly<Record<string, string>> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"' };

/** What Telegram shows: tags stripped, the four entities escapeHtml writes decoded. */
function visible(html: string): string {
  return html.replace(/<[^<>]*>/g, '').replace(/&(?:amp|lt|gt|quot);/g, (entity) => ENTITIES[entity] ?? entity);
}

/** Throws unless every tag in the chunk is closed, in order, by a tag of the same name. */
function expectBalanced(chunk: string): void {
  const open: string[] = [];
  // The tag grammar splitMessage reads; anything else (a lone "<") is text to it.
  for (const [, slash, name = ''] of chunk.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?>/g)) {
    if (slash === '') open.push(name.toLowerCase());
    else expect(open.pop()).toBe(name.toLowerCase());
  }
  expect(open).toEqual([]);
}

/** Throws unless the chunk holds only whole tags and whole entities (and so Telegram can parse it). */
function expectNothingCut(chunk: string): void {
  const text = chunk.replace(/<\/?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?>/g, '');
  expect(text).not.toMatch(/[<>]/);
  expect(text.replace(/&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,7});/g, '')).not.toContain('&');
  // A surrogate pair split in two leaves a lone surrogate at an end.
  expect(chunk).not.toMatch(/^[\udc00-\udfff]|[\ud800-\udbff]$/);
}

/** True when `original` is the parts joined, each cut dropping nothing or one space or line break. */
function joinsWithSeparators(original: string, parts: readonly string[]): boolean {
  let positions = new Set([0]);
  parts.forEach((part, index) => {
    const next = new Set<number>();
    for (const position of positions) {
      const starts = index === 0 ? [position] : [position, ...(/[ \n]/.test(original[position] ?? '') ? [position + 1] : [])];
      for (const start of starts) if (original.startsWith(part, start)) next.add(start + part.length);
    }
    positions = next;
  });
  // The last cut may drop a separator that ends the message.
  return positions.has(original.length) || (positions.has(original.length - 1) && /[ \n]$/.test(original));
}

describe('escapeHtml', () => {
  it.each([
    ['plain', 'plain'],
    ['a & b', 'a &amp; b'],
    ['<script>', '&lt;script&gt;'],
    ['say "hi"', 'say &quot;hi&quot;'],
    ['&amp;', '&amp;amp;'],
    ["it's", "it's"],
  ])('%s → %s', (text, html) => {
    expect(escapeHtml(text)).toBe(html);
  });

  it('round-trips through the visible text of any string', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => expect(visible(escapeHtml(text))).toBe(text)));
  });
});

describe('splitMessage', () => {
  const line = (n: number, width = 10): string => `${String(n).padStart(2, '0')}`.padEnd(width, 'x');

  it('returns a message that fits unchanged, and nothing for an empty one', () => {
    const html = '<b>Queue</b>\n<a href="https://x.example/?a=1&amp;b=2">link</a> &lt;3';
    expect(splitMessage(html)).toEqual([html]);
    expect(splitMessage('')).toEqual([]);
  });

  it('splits at line breaks, dropping the break', () => {
    const lines = [1, 2, 3, 4, 5].map((n) => line(n, 12));
    // 32 characters take two 12-character lines and the break between them, not a third line.
    expect(splitMessage(lines.join('\n'), 32)).toEqual([`${lines[0]}\n${lines[1]}`, `${lines[2]}\n${lines[3]}`, lines[4]]);
  });

  it('prefers an earlier line break to a later space', () => {
    expect(splitMessage('short line\nthen a much longer line of words', 32)).toEqual(['short line', 'then a much longer line of words']);
  });

  it('splits a long line at spaces', () => {
    const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa';
    const chunks = splitMessage(words, 32);
    expect(chunks).toEqual(['alpha beta gamma delta epsilon', 'zeta eta theta iota kappa']);
  });

  it('cuts a word with no space anywhere it must, but never inside an entity or an emoji', () => {
    expect(splitMessage('a'.repeat(70), 32)).toEqual(['a'.repeat(32), 'a'.repeat(32), 'a'.repeat(6)]);
    const ampersands = '&amp;'.repeat(10);
    expect(splitMessage(ampersands, 32)).toEqual(['&amp;'.repeat(6), '&amp;'.repeat(4)]);
    const emoji = '😀'.repeat(20); // 40 UTF-16 units
    expect(splitMessage(emoji, 33)).toEqual(['😀'.repeat(16), '😀'.repeat(4)]);
  });

  it('never cuts at a separator before any text, so no chunk is empty', () => {
    expect(splitMessage(` ${'a'.repeat(70)}`, 32)).toEqual([` ${'a'.repeat(31)}`, 'a'.repeat(32), 'a'.repeat(7)]);
    expect(splitMessage(`\n\n${'b'.repeat(40)}`, 32)).toEqual([`\n\n${'b'.repeat(30)}`, 'b'.repeat(10)]);
  });

  it('closes tags open at a cut and reopens them in the next chunk', () => {
    const html = `<pre>${line(1)}\n${line(2)}\n${line(3)}</pre>`;
    expect(splitMessage(html, 40)).toEqual([`<pre>${line(1)}\n${line(2)}</pre>`, `<pre>${line(3)}</pre>`]);
  });

  it('keeps the attributes of a reopened link', () => {
    const html = '<a href="https://x.example/">one two three four five six seven eight nine ten</a>';
    // 70 leaves 37 characters of text beside the 29-character <a …> and its </a>.
    expect(splitMessage(html, 70)).toEqual(['<a href="https://x.example/">one two three four five six seven</a>', '<a href="https://x.example/">eight nine ten</a>']);
  });

  it('passes a well-formed message that fits through as it is: tags in any case, entities, quotes, emoji', () => {
    for (const html of ['<b>x</B>', '<a href="https://x.example/?a=1&amp;b=2">l</a> &#128512; &lt;', 'say "hi" 😀', '<b><i>x</i></b>\n<code>y</code>']) {
      expect(splitMessage(html)).toEqual([html]);
    }
    // The output of a repair needs no second one.
    for (const html of ['a</b>b<i>c', '<b><i>x</b></i>', '1 < 2 > 0 & "q"', '<x</b>>', '<b>open']) {
      const [repaired] = splitMessage(html);
      expect(splitMessage(repaired!)).toEqual([repaired]);
    }
  });

  it('repairs malformed HTML: drops closing tags that close nothing, closes tags left open, escapes a lone <, > or &', () => {
    expect(splitMessage('a</b>b<i>c')).toEqual(['ab<i>c</i>']);
    expect(splitMessage('<b><i>x</b></i>')).toEqual(['<b><i>x</i></b>']);
    expect(splitMessage('1 < 2 > 0 & "q"')).toEqual(['1 &lt; 2 &gt; 0 &amp; "q"']);
    // Dropping the stray </b> must not join "<x" and ">" into a tag.
    expect(splitMessage('<x</b>>')).toEqual(['&lt;x&gt;']);
  });

  it('drops a tag pair too long to reopen in every chunk when it must cut, keeping its text', () => {
    // <a …> and </a> cost 63 characters, more than half of the limit of 100.
    const link = `<a href="https://x.example/${'p'.repeat(30)}">go</a>`;
    expect(splitMessage(`${link} <b>on</b>`, 100)).toEqual([`${link} <b>on</b>`]);
    expect(splitMessage(`${link} ${'and on '.repeat(12)}`, 100)).toEqual([`go ${'and on '.repeat(12)}`]);
    expect(splitMessage(`${link} ${'and on '.repeat(20)}`, 100)).toEqual([`go ${'and on '.repeat(13)}and on`, 'and on '.repeat(6)]);
  });

  it('keeps within the limit a message that is a single tag too long for it', () => {
    const tag = `<a href="https://x.example/${'p'.repeat(40)}">`;
    expect(splitMessage(tag, 32)).toEqual([]);
    expect(splitMessage(`${tag}x`, 32)).toEqual(['x']);
  });

  it.each([0, 31, 32.5, Number.NaN])('refuses the limit %s', (limit) => {
    expect(() => splitMessage('x', limit)).toThrow(RangeError);
  });

  it('uses Telegram’s limit by default', () => {
    const chunks = splitMessage(Array.from({ length: 1000 }, (_, n) => `line ${n}`).join('\n'));
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((chunk) => chunk.length <= TELEGRAM_MESSAGE_LIMIT)).toBe(true);
    expect(chunks[0]?.length).toBeGreaterThan(TELEGRAM_MESSAGE_LIMIT - 20);
  });

  // Messages as the bot builds them: escaped text inside (possibly nested) formatting tags.
  const textArbitrary = fc
    .array(fc.oneof({ weight: 6, arbitrary: fc.constantFrom('a', 'bc', 'word', 'Ж', '😀', '&', '<', '>', '"') }, { weight: 3, arbitrary: fc.constantFrom(' ', '\n') }), {
      maxLength: 30,
    })
    .map((pieces) => escapeHtml(pieces.join('')));
  const { html: htmlArbitrary } = fc.letrec<{ html: string; element: string }>((tie) => ({
    html: fc.array(fc.oneof({ weight: 3, arbitrary: textArbitrary }, { weight: 1, arbitrary: tie('element') }), { maxLength: 6 }).map((parts) => parts.join('')),
    element: fc
      .tuple(fc.constantFrom('<b>|</b>', '<i>|</i>', '<code>|</code>', '<pre>|</pre>', '<a href="https://x.example/?q=1&amp;r=&quot;2&quot;">|</a>', '<span class="tg-spoiler">|</span>'), tie('html'))
      .map(([tags, inner]) => {
        const [open, close] = tags.split('|') as [string, string];
        return `${open}${inner}${close}`;
      }),
  }));

  it('keeps every chunk within the limit, balanced and whole, and loses only the separators at cuts', () => {
    fc.assert(
      fc.property(htmlArbitrary, fc.integer({ min: MIN_SPLIT_LIMIT, max: 160 }), (html, limit) => {
        const chunks = splitMessage(html, limit);
        for (const chunk of chunks) {
          expect(chunk.length).toBeLessThanOrEqual(limit);
          expect(chunk.length).toBeGreaterThan(0);
          expectBalanced(chunk);
          expectNothingCut(chunk);
        }
        expect(joinsWithSeparators(visible(html), chunks.map(visible))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves a message that fits exactly as it was', () => {
    fc.assert(
      fc.property(htmlArbitrary, (html) => {
        expect(splitMessage(html, Math.max(MIN_SPLIT_LIMIT, html.length))).toEqual(html === '' ? [] : [html]);
      }),
    );
  });

  it('never throws on malformed input and still keeps chunks within the limit and balanced', () => {
    const fragment = fc.constantFrom('<b>', '</b>', '<i>', '</i>', '</a>', `<a href="https://x.example/${'p'.repeat(40)}">`, '&amp;', '&', '&#128512;', 'x', ' ', '\n', '😀', '<', '>');
    const malformed = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.array(fragment, { maxLength: 60 }).map((parts) => parts.join('')));
    fc.assert(
      fc.property(malformed, fc.integer({ min: MIN_SPLIT_LIMIT, max: 100 }), (text, limit) => {
        for (const chunk of splitMessage(text, limit)) {
          expect(chunk.length).toBeLessThanOrEqual(limit);
          expectBalanced(chunk);
          expectNothingCut(chunk);
        }
      }),
    );
  });
});
