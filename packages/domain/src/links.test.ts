import fc from 'fast-check';
import { extractLinks, isPrivateHost, isPublicIpAddress, resolvesOnlyToPrivate, validateLink, type LinkPolicy, type MessageEntity } from './links';

const strict: LinkPolicy = { maxLength: 2048, allowPrivateHosts: false };
const permissive: LinkPolicy = { maxLength: 2048, allowPrivateHosts: true };

describe('extractLinks', () => {
  it('reads url entities by UTF-16 offsets, even after emoji', () => {
    const text = '😀 see https://a.example/x and 🎉 www.b.example';
    const first = text.indexOf('https');
    const second = text.indexOf('www');
    const entities: MessageEntity[] = [
      { type: 'url', offset: first, length: 'https://a.example/x'.length },
      { type: 'url', offset: second, length: 'www.b.example'.length },
    ];
    expect(extractLinks(text, entities)).toEqual(['https://a.example/x', 'www.b.example']);
  });

  it('takes text_link urls and ignores other entity types', () => {
    const entities: MessageEntity[] = [
      { type: 'bold', offset: 0, length: 4 },
      { type: 'text_link', offset: 5, length: 4, url: 'https://hidden.example/v' },
      { type: 'mention', offset: 10, length: 5 },
    ];
    expect(extractLinks('look here @user', entities)).toEqual(['https://hidden.example/v']);
  });

  it('orders entity links by their place in the text and removes duplicates', () => {
    const text = 'https://b.example https://a.example https://b.example';
    const entities: MessageEntity[] = [
      { type: 'url', offset: 18, length: 17 },
      { type: 'url', offset: 0, length: 17 },
      { type: 'url', offset: 36, length: 17 },
    ];
    expect(extractLinks(text, entities)).toEqual(['https://b.example', 'https://a.example']);
  });

  it('uses only the entities when there are some (Telegram already found the links)', () => {
    expect(extractLinks('https://a.example', [{ type: 'bold', offset: 0, length: 5 }])).toEqual([]);
  });

  it.each([
    ['a negative offset', { type: 'url', offset: -1, length: 3 }],
    ['a range past the end', { type: 'url', offset: 2, length: 100 }],
    ['a fractional length', { type: 'url', offset: 0, length: 1.5 }],
    ['a text_link without url', { type: 'text_link', offset: 0, length: 3 }],
  ])('skips %s', (_, entity) => {
    expect(extractLinks('abcdef', [entity as MessageEntity])).toEqual([]);
  });

  it.each([
    ['one link', 'get https://youtu.be/abc now', ['https://youtu.be/abc']],
    ['www without scheme', 'at www.example.com/page.', ['www.example.com/page']],
    ['several, de-duplicated, in order', 'http://b.example a http://a.example\nhttp://b.example', ['http://b.example', 'http://a.example']],
    ['sentence punctuation after a link', 'Is it https://x.example/a?! Yes: https://y.example/b.', ['https://x.example/a', 'https://y.example/b']],
    ['a link in parentheses', '(see https://x.example/a)', ['https://x.example/a']],
    ['balanced parentheses inside a link', 'https://en.wikipedia.org/wiki/Foo_(bar), ok', ['https://en.wikipedia.org/wiki/Foo_(bar)']],
    ['other schemes (validation refuses them later)', 'ftp://files.example/x', ['ftp://files.example/x']],
    ['nothing in plain words', 'no links, just www and http: here', []],
    ['no match inside a word', 'xwww.example.com', []],
    ['quotes around a link', "«https://x.example/a» and 'https://x.example/b'… “https://x.example/c”", ['https://x.example/a', 'https://x.example/b', 'https://x.example/c']],
    ['angle brackets around a link', '<https://x.example/a>', ['https://x.example/a']],
  ])('finds links in text without entities: %s', (_, text, expected) => {
    expect(extractLinks(text)).toEqual(expected);
    expect(extractLinks(text, [])).toEqual(expected);
  });

  it('never throws and returns distinct non-empty strings for any text and entities', () => {
    const entity = fc.record({
      type: fc.constantFrom('url', 'text_link', 'bold', 'x'),
      offset: fc.oneof(fc.integer({ min: -5, max: 60 }), fc.double()),
      length: fc.oneof(fc.integer({ min: -5, max: 60 }), fc.double()),
      url: fc.option(fc.string(), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.option(fc.array(entity, { maxLength: 5 }), { nil: undefined }), (text, entities) => {
        const links = extractLinks(text, entities);
        expect(new Set(links).size).toBe(links.length);
        expect(links.every((link) => link.length > 0)).toBe(true);
      }),
    );
  });

  it('finds every generated link in generated prose', () => {
    const host = fc.stringMatching(/^[a-z][a-z0-9]{0,8}\.[a-z]{2,4}$/);
    const path = fc.stringMatching(/^(\/[a-z0-9_-]{1,6}){0,3}$/);
    const link = fc.tuple(fc.constantFrom('http://', 'https://'), host, path).map((parts) => parts.join(''));
    const filler = fc.constantFrom('word', 'two words', 'end.', '(', 'x,', '—');
    fc.assert(
      fc.property(fc.array(fc.tuple(filler, link, fc.constantFrom('', '.', ',', ')', '!')), { maxLength: 5 }), (pieces) => {
        const text = pieces.map(([before, url, after]) => `${before} ${url}${after}`).join(' ');
        const expected = [...new Set(pieces.map(([, url]) => url))];
        expect(extractLinks(text)).toEqual(expected);
      }),
    );
  });
});

describe('validateLink', () => {
  it.each([
    ['https://www.youtube.com/watch?v=abc', 'https://www.youtube.com/watch?v=abc', 'www.youtube.com'],
    ['HTTP://Example.COM/Path', 'http://example.com/Path', 'example.com'],
    ['www.example.com/video', 'https://www.example.com/video', 'www.example.com'],
    ['example.com/video', 'https://example.com/video', 'example.com'],
    ['example.com:8080/x', 'https://example.com:8080/x', 'example.com'],
    ['  https://example.com  ', 'https://example.com/', 'example.com'],
    ['https://пример.рф/путь', 'https://xn--e1afmkfd.xn--p1ai/%D0%BF%D1%83%D1%82%D1%8C', 'xn--e1afmkfd.xn--p1ai'],
    ['https://example.com./x', 'https://example.com./x', 'example.com'],
    ['https://@example.com/', 'https://example.com/', 'example.com'],
    ['http://8.8.8.8/x', 'http://8.8.8.8/x', '8.8.8.8'],
    ['http://[2a00:1450:4001::200e]/', 'http://[2a00:1450:4001::200e]/', '2a00:1450:4001::200e'],
  ])('accepts %s', (raw, url, host) => {
    expect(validateLink(raw, strict)).toEqual({ ok: true, link: { url, host } });
  });

  it.each([
    ['javascript:alert(1)', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['ftp://files.example/x', 'scheme'],
    ['data:text/html,<b>x</b>', 'scheme'],
    ['mailto:someone@example.com', 'scheme'],
    ['https://user:pass@example.com/', 'credentials'],
    ['https://user@example.com/', 'credentials'],
    ['https://:secret@example.com/', 'credentials'],
    ['user@example.com', 'credentials'],
    ['', 'not_a_url'],
    ['   ', 'not_a_url'],
    ['hello', 'not_a_url'],
    ['https://exa mple.com/', 'not_a_url'],
    ['http://256.1.1.1/', 'not_a_url'],
    ['http://./', 'no_host'],
    ['https://a..b.com/', 'no_host'],
  ])('refuses %s: %s', (raw, reason) => {
    expect(validateLink(raw, strict)).toEqual({ ok: false, reason });
  });

  it.each([
    'http://localhost/',
    'http://LOCALHOST:8080/',
    'http://localhost./',
    'http://app.localhost/',
    'http://nas/',
    'http://printer.local/',
    'http://db.internal/',
    'http://router.home.arpa/',
    'http://127.0.0.1/',
    'http://127.255.255.254/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0177.0.0.1/',
    'http://0/',
    'http://0.0.0.0/',
    'http://10.1.2.3/',
    'http://172.16.0.1/',
    'http://172.31.255.255/',
    'http://192.168.1.1/',
    'http://100.64.0.1/',
    'http://100.127.255.255/',
    'http://169.254.169.254/latest/meta-data/',
    'http://224.0.0.1/',
    'http://255.255.255.255/',
    'http://198.18.0.1/',
    'http://192.0.2.1/',
    'http://[::1]/',
    'http://[::]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:10.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://[64:ff9b::a00:1]/',
    'http://[fc00::1]/',
    'http://[fd12:3456::1]/',
    'http://[fe80::1]/',
    'http://[febf::1]/',
    'http://[ff02::1]/',
    'http://[2001:db8::1]/',
    'http://[2002:c0a8:101::1]/',
    '192.168.0.1/admin',
  ])('refuses the private host of %s unless private hosts are allowed', (raw) => {
    expect(validateLink(raw, strict)).toEqual({ ok: false, reason: 'private_host' });
    expect(validateLink(raw, permissive).ok).toBe(true);
  });

  it.each(['http://172.32.0.1/', 'http://100.128.0.1/', 'http://169.255.0.1/', 'http://11.0.0.1/', 'http://[::ffff:8.8.8.8]/', 'http://[2002:808:808::1]/', 'http://[2606:4700::1111]/'])(
    'accepts the public address in %s',
    (raw) => {
      expect(validateLink(raw, strict).ok).toBe(true);
    },
  );

  it('measures the raw input against maxLength, spaces included', () => {
    const policy: LinkPolicy = { maxLength: 25, allowPrivateHosts: false };
    const link = 'https://example.com/abcde'; // exactly 25
    expect(validateLink(link, policy).ok).toBe(true);
    expect(validateLink(`${link}f`, policy)).toEqual({ ok: false, reason: 'too_long' });
    expect(validateLink(` ${link}`, policy)).toEqual({ ok: false, reason: 'too_long' });
  });

  it('never throws, and an accepted link is http(s) with a public host and no credentials', () => {
    const anyInput = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.tuple(fc.constantFrom('http://', 'https://', 'HTTP://', 'ftp://', 'www.', '', 'javascript:', '//'), fc.string({ maxLength: 40 })).map(([a, b]) => a + b),
      fc.tuple(fc.constantFrom('http://', 'https://'), fc.ipV4Extended()).map(([a, b]) => a + b),
      fc.tuple(fc.constantFrom('http://', 'https://'), fc.ipV6()).map(([a, b]) => `${a}[${b}]/`),
    );
    fc.assert(
      fc.property(anyInput, fc.boolean(), (raw, allowPrivateHosts) => {
        const result = validateLink(raw, { maxLength: 2048, allowPrivateHosts });
        if (!result.ok) return;
        const url = new URL(result.link.url);
        expect(['http:', 'https:']).toContain(url.protocol);
        expect(url.username + url.password).toBe('');
        expect(result.link.host).toBe(result.link.host.toLowerCase());
        expect(result.link.host.endsWith('.')).toBe(false);
        if (!allowPrivateHosts) expect(isPrivateHost(result.link.host)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses every loopback and private IPv4 address, however it is written', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const privateAddress = fc.oneof(
      fc.tuple(fc.constant(127), octet, octet, octet),
      fc.tuple(fc.constant(10), octet, octet, octet),
      fc.tuple(fc.constant(172), fc.integer({ min: 16, max: 31 }), octet, octet),
      fc.tuple(fc.constant(192), fc.constant(168), octet, octet),
    );
    const spellings = (o: number[]): string[] => {
      const value = o.reduce((sum, part) => sum * 256 + part, 0);
      return [o.join('.'), String(value), `0x${value.toString(16)}`, o.map((part) => `0${part.toString(8)}`).join('.'), `[::ffff:${o.join('.')}]`];
    };
    fc.assert(
      fc.property(privateAddress, fc.constantFrom(0, 1, 2, 3, 4), (octets, spelling) => {
        const raw = `http://${spellings(octets)[spelling]}/`;
        expect(validateLink(raw, strict)).toEqual({ ok: false, reason: 'private_host' });
      }),
    );
  });
});

describe('isPublicIpAddress', () => {
  it.each([
    ['8.8.8.8', true],
    ['1.1.1.1', true],
    ['3fff::1', false],
    ['3fff:1000::1', true],
    ['2001:4860:4860::8888', true],
    ['2001::1', false],
    ['::ffff:1.2.3.4', true],
    ['::1.2.3.4', false],
    ['64:ff9b:1::1', false],
    ['not an address', false],
  ])('%s is public: %s', (address, expected) => {
    expect(isPublicIpAddress(address)).toBe(expected);
  });
});

describe('resolvesOnlyToPrivate', () => {
  it.each([
    [['127.0.0.1'], true],
    [['169.254.169.254'], true],
    [['10.0.0.5', '192.168.1.2'], true],
    [['::1'], true],
    [['fe80::1%eth0'], true],
    [['fd00::1', '100.64.0.1'], true],
    [['::ffff:127.0.0.1'], true],
    [['::ffff:169.254.169.254'], true],
    [['::ffff:8.8.8.8'], false],
    [['127.0.0.1', '93.184.215.14'], false],
    [['::1', '2001:4860:4860::8888'], false],
    [['8.8.8.8'], false],
  ])('%j: %s', (addresses, expected) => {
    expect(resolvesOnlyToPrivate(addresses)).toBe(expected);
  });

  it('is false for a name that resolved to nothing: no answer is no evidence', () => {
    expect(resolvesOnlyToPrivate([])).toBe(false);
  });
});
