// Renders a Telegram message's text safely, in the browser (window.TelegramRender) and in Node
// (require, for the tests). Telegram stores a message as plain text plus entities (what
// parse_mode=HTML was turned into), so the bot's text is never markup here: every character is
// text, and formatting comes only from entities, mapped to a short list of harmless elements.
// Nothing is ever assigned to innerHTML: toDom builds nodes, toHtml escapes everything.
(function (root, factory) {
  if (typeof module === 'object' && module.exports) module.exports = factory();
  else root.TelegramRender = factory();
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  /** The only elements ever produced, and (below) the only attributes. */
  const ALLOWED_TAGS = ['b', 'strong', 'i', 'em', 'u', 's', 'code', 'pre', 'a', 'blockquote', 'span'];
  const SPAN_CLASSES = ['spoiler', 'command', 'mention'];

  const SIMPLE_ENTITIES = {
    bold: 'b',
    italic: 'i',
    underline: 'u',
    strikethrough: 's',
    code: 'code',
    pre: 'pre',
    blockquote: 'blockquote',
    expandable_blockquote: 'blockquote',
  };

  const HTML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]);
  }

  /**
   * An http(s) URL fit for href, or null (javascript:, data:, tg:… and anything unparsable).
   * A bare "example.com/x", as Telegram links it, gets http://.
   */
  function safeHref(raw) {
    if (typeof raw !== 'string') return null;
    let candidate = raw.trim();
    if (!/^[a-z][a-z0-9+.-]*:/i.test(candidate)) candidate = 'http://' + candidate;
    let url;
    try {
      url = new URL(candidate);
    } catch (err) {
      return null;
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) return null;
    return url.href;
  }

  /** The element an entity becomes, or null for entities shown as plain text. */
  function elementFor(entity, text, start, end) {
    const simple = SIMPLE_ENTITIES[entity.type];
    if (simple) return { tag: simple, attrs: {} };
    switch (entity.type) {
      case 'text_link':
      case 'url': {
        const href = safeHref(entity.type === 'url' ? text.slice(start, end) : entity.url);
        return href ? { tag: 'a', attrs: { href: href } } : null;
      }
      case 'spoiler':
        return { tag: 'span', attrs: { class: 'spoiler' } };
      case 'bot_command':
        return { tag: 'span', attrs: { class: 'command' } };
      case 'mention':
        return { tag: 'span', attrs: { class: 'mention' } };
      default:
        return null;
    }
  }

  function appendText(parent, text) {
    const last = parent.children[parent.children.length - 1];
    if (typeof last === 'string') parent.children[parent.children.length - 1] = last + text;
    else parent.children.push(text);
  }

  /**
   * Text plus entities → a tree: an array of strings and { tag, attrs, children }. Always well
   * nested: entities that overlap are split, ones outside the text are clipped or dropped, and
   * malformed ones are ignored.
   */
  function entitiesToTree(text, entities) {
    text = typeof text === 'string' ? text : '';
    const spans = [];
    (Array.isArray(entities) ? entities : []).forEach((entity, index) => {
      if (!entity || typeof entity !== 'object' || !Number.isInteger(entity.offset) || !Number.isInteger(entity.length)) return;
      const start = Math.max(0, entity.offset);
      const end = Math.min(text.length, entity.offset + entity.length);
      if (end <= start) return;
      const element = elementFor(entity, text, start, end);
      if (element) spans.push({ start: start, end: end, index: index, element: element });
    });
    // Outer before inner: earlier start first, then the longer one, then the order given.
    spans.sort((a, b) => a.start - b.start || b.end - a.end || a.index - b.index);

    const cuts = new Set([0, text.length]);
    for (const span of spans) {
      cuts.add(span.start);
      cuts.add(span.end);
    }
    const points = Array.from(cuts).sort((a, b) => a - b);
    const root = { children: [] };
    // The elements open at the current point, outermost first.
    let open = [];
    for (let k = 0; k + 1 < points.length; k++) {
      const from = points[k];
      const to = points[k + 1];
      const active = spans.filter((span) => span.start <= from && span.end >= to);
      let kept = 0;
      while (kept < open.length && kept < active.length && open[kept].span === active[kept]) kept++;
      open = open.slice(0, kept);
      for (let m = kept; m < active.length; m++) {
        const parent = m === 0 ? root : open[m - 1].node;
        const node = { tag: active[m].element.tag, attrs: Object.assign({}, active[m].element.attrs), children: [] };
        parent.children.push(node);
        open.push({ span: active[m], node: node });
      }
      appendText(open.length ? open[open.length - 1].node : root, text.slice(from, to));
    }
    return root.children;
  }

  /** The attributes an element may carry, re-checked whatever the tree says. */
  function safeAttributes(node) {
    const attrs = node.attrs || {};
    if (node.tag === 'a') {
      const href = safeHref(attrs.href);
      return href ? [['href', href], ['rel', 'noopener noreferrer nofollow'], ['target', '_blank']] : null;
    }
    if (node.tag === 'span') return SPAN_CLASSES.indexOf(attrs.class) >= 0 ? [['class', attrs.class]] : [];
    return [];
  }

  /** A tree → HTML, everything escaped; an element not allowed (or a link without a safe href) keeps only its content. */
  function toHtml(nodes) {
    let html = '';
    for (const node of nodes || []) {
      if (typeof node === 'string') {
        html += escapeHtml(node);
        continue;
      }
      const inner = toHtml(node.children);
      const attrs = ALLOWED_TAGS.indexOf(node.tag) >= 0 ? safeAttributes(node) : null;
      if (!attrs) {
        html += inner;
        continue;
      }
      html += '<' + node.tag + attrs.map((pair) => ' ' + pair[0] + '="' + escapeHtml(pair[1]) + '"').join('') + '>' + inner + '</' + node.tag + '>';
    }
    return html;
  }

  /** A tree → a DocumentFragment, from text nodes and createElement only. */
  function toDom(nodes, doc) {
    const fragment = doc.createDocumentFragment();
    for (const node of nodes || []) {
      if (typeof node === 'string') {
        fragment.appendChild(doc.createTextNode(node));
        continue;
      }
      const inner = toDom(node.children, doc);
      const attrs = ALLOWED_TAGS.indexOf(node.tag) >= 0 ? safeAttributes(node) : null;
      if (!attrs) {
        fragment.appendChild(inner);
        continue;
      }
      const element = doc.createElement(node.tag);
      for (const pair of attrs) element.setAttribute(pair[0], pair[1]);
      element.appendChild(inner);
      fragment.appendChild(element);
    }
    return fragment;
  }

  /** The most a person's message (like a bot's) may hold, in UTF-16 units, as Telegram counts. */
  const MAX_MESSAGE_LENGTH = 4096;

  /**
   * Where a too-long text is cut: at the last line break in the second half of the first
   * `limit` characters, else at the last space there, else right at the limit (never between
   * the two halves of a surrogate pair).
   */
  function breakPoint(text, limit) {
    const window = text.slice(0, limit + 1);
    const floor = Math.floor(limit / 2);
    const newline = window.lastIndexOf('\n');
    if (newline > floor) return newline;
    for (let at = window.length - 1; at > floor; at--) if (/\s/.test(window[at])) return at;
    const code = text.charCodeAt(limit - 1);
    return code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit;
  }

  /**
   * A text split as Telegram's clients split a long one: messages of at most `limit` characters
   * (default 4096), each trimmed and none empty, cut at a line break or space near the limit
   * when there is one. A text that fits is one message; a blank one is none.
   */
  function splitMessage(text, limit) {
    const max = limit || MAX_MESSAGE_LENGTH;
    const parts = [];
    let rest = String(text).trim();
    while (rest.length > max) {
      const cut = breakPoint(rest, max);
      const part = rest.slice(0, cut).trimEnd();
      if (part) parts.push(part);
      rest = rest.slice(cut).trimStart();
    }
    if (rest) parts.push(rest);
    return parts;
  }

  // What a button made only of a symbol does, for screen readers (the symbol stays the text).
  const SYMBOL_NAMES = {
    '✖': 'Remove',
    '✕': 'Remove',
    '✗': 'Remove',
    '❌': 'Remove',
    '×': 'Remove',
    '🗑': 'Delete',
    '◀': 'Back',
    '⬅': 'Back',
    '←': 'Back',
    '«': 'Back',
    '▶': 'Next',
    '➡': 'Next',
    '→': 'Next',
    '»': 'Next',
    '🔄': 'Refresh',
    '↻': 'Refresh',
    '➕': 'Add',
    '⏸': 'Pause',
    '⏹': 'Stop',
  };

  /**
   * A readable name for a button whose text starts with an action's symbol: "✖" → "Remove",
   * "✖ #12" → "Remove #12", and "✖ Remove" or "✖ Удалить" → the words; the text itself when it
   * is only symbols nobody named; null when the text reads well as it is.
   */
  function buttonLabel(text) {
    const clean = String(text).replace(/\uFE0F/g, '').trim();
    for (const symbol of Object.keys(SYMBOL_NAMES)) {
      if (!clean.startsWith(symbol)) continue;
      const name = SYMBOL_NAMES[symbol];
      const rest = clean.slice(symbol.length).trim();
      if (rest === '') return name;
      // Words after the symbol say what it does, in the bot's language.
      return /\p{L}/u.test(rest) ? rest : name + ' ' + rest;
    }
    if (clean === '') return null;
    return /[\p{L}\p{N}]/u.test(clean) ? null : clean;
  }

  /** A message's text as safe HTML: entitiesToTree + toHtml. */
  function messageHtml(message) {
    return toHtml(entitiesToTree(message && message.text, message && message.entities));
  }

  return {
    ALLOWED_TAGS: ALLOWED_TAGS,
    escapeHtml: escapeHtml,
    safeHref: safeHref,
    entitiesToTree: entitiesToTree,
    toHtml: toHtml,
    toDom: toDom,
    messageHtml: messageHtml,
    MAX_MESSAGE_LENGTH: MAX_MESSAGE_LENGTH,
    splitMessage: splitMessage,
    buttonLabel: buttonLabel,
  };
});
