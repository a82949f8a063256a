import { readFileSync } from 'node:fs';
import path from 'node:path';
import { detectEntities } from '../text/entities';
import { parseHtml } from '../text/html-parser';
import type { MessageEntity } from '../types';
// The very file the page loads (plain JavaScript, no build step).
import { buttonLabel, type DomFactory, entitiesToTree, escapeHtml, MAX_MESSAGE_LENGTH, messageHtml, type RenderNode, safeHref, splitMessage, toDom, toHtml } from '../../web/render.js';
import { MAX_MESSAGE_LENGTH as SERVER_LIMIT } from '../bot-api/message-text';

const render = (text: string, entities?: MessageEntity[]) => toHtml(entitiesToTree(text, entities));

/** Fails unless `html` is made only of allowed, properly nested tags (and text without a raw '<' or '>'). */
function expectWellFormed(html: string): void {
  const open: string[] = [];
  for (const match of html.matchAll(/<(\/?)([a-z]+)((?: [a-z]+="[^"<>]*")*)>/g)) {
    const [, closing, tag] = match;
    expect(['b', 'i', 'u', 's', 'code', 'pre', 'a', 'blockquote', 'span']).toContain(tag);
    if (closing) expect(open.pop()).toBe(tag);
    else open.push(tag!);
  }
  expect(open).toEqual([]);
  expect(html.replace(/<\/?[a-z]+(?: [a-z]+="[^"<>]*")*>/g, '')).not.toMatch(/[<>]/);
}

describe('entitiesToTree + toHtml', () => {
  it('escapes everything the bot wrote', () => {
    const html = render(`<script>alert("x")</script> & 'quotes' <img src=x onerror=alert(1)>`);
    expect(html).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39; &lt;img src=x onerror=alert(1)&gt;');
    expect(escapeHtml('<&>"\'')).toBe('&lt;&amp;&gt;&quot;&#39;');
  });

  it('shows HTML that was never parsed, unclosed tags included, as text', () => {
    // A bot that forgets parse_mode: Telegram shows the tags literally.
    const html = render('<b>never closed <i>nor this <a href="javascript:alert(1)">x');
    expect(html).toBe('&lt;b&gt;never closed &lt;i&gt;nor this &lt;a href=&quot;javascript:alert(1)&quot;&gt;x');
    expectWellFormed(html);
  });

  it('renders the formatting Telegram’s HTML style turns into entities', () => {
    const { text, entities } = parseHtml(
      '<b>bold <i>both</i></b> <u>u</u> <s>s</s> <tg-spoiler>hidden</tg-spoiler> <a href="https://example.com/?a=1&amp;b=2">link</a>\n' +
        '<code>&lt;tag&gt;</code> <pre><code class="language-js">x &lt; 1</code></pre><blockquote>quoted</blockquote>',
    );
    const html = render(text, entities);
    expect(html).toBe(
      '<b>bold <i>both</i></b> <u>u</u> <s>s</s> <span class="spoiler">hidden</span> ' +
        '<a href="https://example.com/?a=1&amp;b=2" rel="noopener noreferrer nofollow" target="_blank">link</a>\n' +
        '<code>&lt;tag&gt;</code> <pre>x &lt; 1</pre><blockquote>quoted</blockquote>',
    );
    expectWellFormed(html);
  });

  it('links what a person types: urls (bare ones too), /commands and @mentions', () => {
    const text = 'see youtube.com/watch?v=1 or https://x.io and /start @someone';
    // What the emulator marks in a person's message, as Telegram does.
    const entities = detectEntities(text);
    expect(entities.map((entity) => entity.type)).toEqual(['url', 'url', 'bot_command', 'mention']);
    expect(render(text, entities)).toBe(
      'see <a href="http://youtube.com/watch?v=1" rel="noopener noreferrer nofollow" target="_blank">youtube.com/watch?v=1</a> or ' +
        '<a href="https://x.io/" rel="noopener noreferrer nofollow" target="_blank">https://x.io</a> and <span class="command">/start</span> <span class="mention">@someone</span>',
    );
  });

  it.each([
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    '  javascript:alert(1)',
    'java\tscript:alert(1)',
    'java\nscript:alert(1)',
    '\u0000javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'tg://resolve?domain=x',
    'http://',
    '',
  ])('never links %j', (url) => {
    expect(safeHref(url)).toBeNull();
    const html = render('click me', [{ type: 'text_link', offset: 0, length: 8, url }]);
    expect(html).toBe('click me');
    // A url entity over such text is no link either.
    expect(render(url, [{ type: 'url', offset: 0, length: url.length }])).not.toContain('<a');
  });

  it('cannot be made to break out of the href attribute', () => {
    const html = render('x', [{ type: 'text_link', offset: 0, length: 1, url: 'https://e.com/"onmouseover="alert(1)"<b>' }]);
    expect(html).toBe('<a href="https://e.com/%22onmouseover=%22alert(1)%22%3Cb%3E" rel="noopener noreferrer nofollow" target="_blank">x</a>');
  });

  it('nests overlapping entities properly and ignores malformed ones', () => {
    const text = 'abcdefghij';
    const html = render(text, [
      { type: 'bold', offset: 0, length: 5 },
      { type: 'italic', offset: 3, length: 5 },
      { type: 'underline', offset: 8, length: 100 },
      { type: 'code', offset: -3, length: 4 },
      { type: 'strikethrough', offset: 20, length: 2 },
      { type: 'bold', offset: 1.5, length: 2 } as MessageEntity,
      { type: 'unknown_kind', offset: 0, length: 10 },
      null as unknown as MessageEntity,
    ]);
    expect(html).toBe('<b><code>a</code>bc<i>de</i></b><i>fgh</i><u>ij</u>');
    expectWellFormed(html);
    expect(render(undefined as unknown as string, 'nope' as unknown as MessageEntity[])).toBe('');
    expect(messageHtml({ text: '<b>', entities: [{ type: 'italic', offset: 0, length: 3 }] })).toBe('<i>&lt;b&gt;</i>');
  });

  it('drops elements and attributes outside its list even when handed a hostile tree', () => {
    const tree: RenderNode[] = [
      { tag: 'script', attrs: {}, children: ['alert(1)'] },
      { tag: 'img', attrs: { src: 'x', onerror: 'alert(1)' }, children: [] },
      { tag: 'a', attrs: { href: 'javascript:alert(1)' }, children: ['bad link'] },
      { tag: 'b', attrs: { onclick: 'alert(1)', style: 'x' }, children: ['bold'] },
      { tag: 'span', attrs: { class: 'x" onclick="alert(1)' }, children: ['span'] },
    ];
    expect(toHtml(tree)).toBe('alert(1)bad link<b>bold</b><span>span</span>');
  });
});

describe('toDom', () => {
  interface FakeNode {
    name: string;
    attributes: Array<[string, string]>;
    children: FakeNode[];
    text?: string;
  }
  const node = (name: string, text?: string): FakeNode & { appendChild(child: FakeNode): void; setAttribute(n: string, v: string): void } => {
    const made = {
      name,
      attributes: [] as Array<[string, string]>,
      children: [] as FakeNode[],
      ...(text !== undefined ? { text } : {}),
      appendChild(child: FakeNode) {
        // A fragment moves its children, as in the DOM.
        if (child.name === '#fragment') made.children.push(...child.children);
        else made.children.push(child);
      },
      setAttribute(n: string, v: string) {
        made.attributes.push([n, v]);
      },
    };
    Object.defineProperty(made, 'innerHTML', {
      set() {
        throw new Error('innerHTML must not be used');
      },
    });
    return made;
  };
  const fakeDocument: DomFactory<FakeNode> = {
    createDocumentFragment: () => node('#fragment'),
    createElement: (tag) => node(tag),
    createTextNode: (text) => node('#text', text),
  };
  const serialize = (n: FakeNode): string =>
    n.name === '#text'
      ? escapeHtml(n.text ?? '')
      : n.name === '#fragment'
        ? n.children.map(serialize).join('')
        : `<${n.name}${n.attributes.map(([k, v]) => ` ${k}="${escapeHtml(v)}"`).join('')}>${n.children.map(serialize).join('')}</${n.name}>`;

  it('builds the same thing as toHtml, from elements and text nodes only', () => {
    const { text, entities } = parseHtml('<b>x <a href="https://a.io">y</a></b> <a href="javascript:alert(1)">z</a> &lt;script&gt;');
    const tree = entitiesToTree(text, entities);
    const fragment = toDom(tree, fakeDocument);
    expect(serialize(fragment)).toBe(toHtml(tree));
    expect(serialize(fragment)).toBe('<b>x <a href="https://a.io/" rel="noopener noreferrer nofollow" target="_blank">y</a></b> z &lt;script&gt;');
  });
});

describe('the page’s script', () => {
  const app = readFileSync(path.join(__dirname, '..', '..', 'web', 'app.js'), 'utf8');

  it('never turns strings into markup or code', () => {
    expect(app).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setTimeout\(\s*['"`]/);
  });
});

describe('splitMessage: a long text as several messages, as Telegram’s clients send it', () => {
  const words = (count: number) => Array.from({ length: count }, (_, i) => `word${i}`).join(' ');

  it('keeps a text that fits as one message, trimmed, and a blank one as none', () => {
    expect(MAX_MESSAGE_LENGTH).toBe(SERVER_LIMIT);
    expect(splitMessage('  hello\n')).toEqual(['hello']);
    expect(splitMessage('x'.repeat(4096))).toEqual(['x'.repeat(4096)]);
    expect(splitMessage(' \n\t ')).toEqual([]);
  });

  it('cuts a 5,000-character paste into 2 messages at a space near the limit, losing nothing but that space', () => {
    const text = words(1000).slice(0, 5000);
    const parts = splitMessage(text);
    expect(parts).toHaveLength(2);
    expect(parts.every((part) => part.length <= 4096 && part === part.trim())).toBe(true);
    expect(parts[0]!.length).toBeGreaterThan(4000);
    // Cut between two words, not inside one.
    expect(parts[0]).toMatch(/ word\d+$/);
    expect(parts[1]).toMatch(/^word\d+ /);
    expect(parts.join(' ')).toBe(text);
  });

  it('prefers a line break to a later space, and cuts hard (not inside a surrogate pair) when there is neither', () => {
    const lines = `${'a'.repeat(3000)}\n${'b '.repeat(1000)}`;
    expect(splitMessage(lines).map((part) => part.length)).toEqual([3000, 1999]);

    const solid = 'y'.repeat(9000);
    expect(splitMessage(solid).map((part) => part.length)).toEqual([4096, 4096, 808]);

    const emoji = `${'z'.repeat(4095)}😀${'z'.repeat(10)}`;
    const [first, second] = splitMessage(emoji);
    expect(first).toBe('z'.repeat(4095));
    expect(second).toBe(`😀${'z'.repeat(10)}`);
    expect(splitMessage('12345 789', 5)).toEqual(['12345', '789']);
  });
});

describe('buttonLabel: a readable name for a button that is only a symbol', () => {
  it.each([
    ['✖', 'Remove'],
    ['✖️', 'Remove'],
    ['✖ Remove', 'Remove'],
    ['✖ Удалить', 'Удалить'],
    ['✖ #12', 'Remove #12'],
    ['❌', 'Remove'],
    ['◀', 'Back'],
    ['⭐', '⭐'],
  ])('%s → %s', (text, label) => {
    expect(buttonLabel(text)).toBe(label);
  });

  it('leaves text that reads well alone', () => {
    for (const text of ['720', '✓ 720', 'Music', '📱 Share my contact', 'Фильмы', 'Hi ✖']) expect([text, buttonLabel(text)]).toEqual([text, null]);
  });
});
