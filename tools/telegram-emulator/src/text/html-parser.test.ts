import { detectEntities, trimFormatted } from './entities';
import { parseHtml } from './html-parser';

describe('parseHtml', () => {
  it('maps every tag Telegram allows to its entity', () => {
    const { text, entities } = parseHtml(
      '<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del><tg-spoiler>p</tg-spoiler><span class="tg-spoiler">q</span><code>c</code><blockquote>q</blockquote><blockquote expandable>x</blockquote>',
    );
    expect(text).toBe('bsieunskdpqcqx');
    expect(entities.map((e) => e.type)).toEqual([
      'bold',
      'bold',
      'italic',
      'italic',
      'underline',
      'underline',
      'strikethrough',
      'strikethrough',
      'strikethrough',
      'spoiler',
      'spoiler',
      'code',
      'blockquote',
      'expandable_blockquote',
    ]);
    expect(entities.map((e) => e.offset)).toEqual([...Array(14).keys()]);
  });

  it('makes one pre entity of <pre><code class="language-…">', () => {
    expect(parseHtml('<pre><code class="language-ts">let x = 1;</code></pre>')).toEqual({ text: 'let x = 1;', entities: [{ type: 'pre', offset: 0, length: 10, language: 'ts' }] });
    expect(parseHtml('<pre>plain</pre>').entities).toEqual([{ type: 'pre', offset: 0, length: 5 }]);
  });

  it('counts offsets in UTF-16 units and decodes entity references', () => {
    expect(parseHtml('😀 <b>&quot;x&quot;</b> &#65;&#x42; &nbsp; a&b')).toEqual({ text: '😀 "x" AB &nbsp; a&b', entities: [{ type: 'bold', offset: 3, length: 3 }] });
  });

  it('orders an enclosing entity before the ones inside it', () => {
    expect(parseHtml('<b><i>x</i>y</b>').entities).toEqual([
      { type: 'bold', offset: 0, length: 2 },
      { type: 'italic', offset: 0, length: 1 },
    ]);
  });

  it('reports errors with byte offsets, as Telegram does', () => {
    expect(() => parseHtml('é<p>')).toThrow('Unsupported start tag "p" at byte offset 2');
    expect(() => parseHtml('x</b>')).toThrow('Unexpected end tag at byte offset 1');
    expect(() => parseHtml('<b')).toThrow('Unclosed start tag at byte offset 0');
    expect(() => parseHtml('<a href="x>y</a>')).toThrow('Unclosed end of attribute value at byte offset 0');
    expect(() => parseHtml('<span>x</span>')).toThrow('Tag "span" must have class "tg-spoiler" at byte offset 0');
    expect(() => parseHtml('<b><i>x</b></i>')).toThrow('Unmatched end tag at byte offset 7, expected "</i>", found "</b>"');
    expect(() => parseHtml('<i>x')).toThrow(`Can't find end tag corresponding to start tag "i"`);
  });
});

describe('trimFormatted', () => {
  it('strips outer whitespace and shifts or clips the entities', () => {
    expect(trimFormatted({ text: '  <ab>  ', entities: [{ type: 'bold', offset: 0, length: 5 }, { type: 'italic', offset: 6, length: 2 }] })).toEqual({
      text: '<ab>',
      entities: [{ type: 'bold', offset: 0, length: 3 }],
    });
  });
});

describe('detectEntities', () => {
  it('finds commands, links, e-mail addresses and mentions, leaving sentence punctuation out of links', () => {
    const text = '/add@dwld_test_bot (see example.com/x), mail me@example.org or @someone http://a.io.';
    expect(detectEntities(text).map((e) => [e.type, text.slice(e.offset, e.offset + e.length)])).toEqual([
      ['bot_command', '/add@dwld_test_bot'],
      ['url', 'example.com/x'],
      ['email', 'me@example.org'],
      ['mention', '@someone'],
      ['url', 'http://a.io'],
    ]);
  });

  it('does not see commands inside words or paths', () => {
    expect(detectEntities('and/or a/b')).toEqual([]);
  });
});
