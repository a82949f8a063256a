import { DEFAULT_MAX_PATTERN_BYTES, patternBytes, peerAddress, validateRegistration } from './registration';

const valid = { serverName: 'home-nas', serverHost: 'nas.local', serverPort: 50051, allowedRootLinks: ['youtube.com', 'VK.com'] };

describe('validateRegistration', () => {
  it('accepts a good registration and normalises it', () => {
    expect(validateRegistration({ ...valid, allowedRootLinks: ['YouTube.com', 'youtube.com', '*'] })).toEqual({
      ok: true,
      registration: { name: 'home-nas', host: 'nas.local', port: 50051, patterns: ['youtube.com', '*'] },
      notes: [],
      hostFromPeer: false,
    });
  });

  it.each(['*', 'any', 'all', 'ALL', 'localhost', 'm.youtube.com', 'xn--80ak6aa92e.com', '10.0.0.7'])('accepts the pattern %s', (pattern) => {
    expect(validateRegistration({ ...valid, allowedRootLinks: [pattern] }).ok).toBe(true);
  });

  it.each(['10.1.2.3', '::1', '[::1]', 'fe80::1', 'downloader', 'a-b.example.org', ' NAS.lan '])('accepts the host %s', (host) => {
    const result = validateRegistration({ ...valid, serverHost: host });
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.registration.host).not.toMatch(/[[\] A-Z]/);
      expect(result.hostFromPeer).toBe(false);
    }
  });

  describe('as the deployed Go downloaders send it', () => {
    it('keeps the usable patterns of a sloppy list and notes what it dropped', () => {
      const result = validateRegistration({ ...valid, allowedRootLinks: ['youtube.com', ' rutube.ru', ''] });
      expect(result).toMatchObject({ ok: true, registration: { patterns: ['youtube.com', 'rutube.ru'] }, notes: [{ given: '', why: 'empty' }] });
    });

    it.each([
      ['https://www.youtube.com/', 'www.youtube.com'],
      ['https://vk.com/video', 'vk.com'],
      ['*.youtube.com', 'youtube.com'],
      ['rutube.ru:443', 'rutube.ru'],
    ])('takes %s as %s, with a note', (pattern, kept) => {
      const result = validateRegistration({ ...valid, allowedRootLinks: [pattern] });
      expect(result).toMatchObject({ ok: true, registration: { patterns: [kept] }, notes: [{ kept }] });
    });

    it('drops unusable patterns next to usable ones', () => {
      const result = validateRegistration({ ...valid, allowedRootLinks: ['youtube.com', 'not a host', '-bad.com'] });
      expect(result).toMatchObject({ ok: true, registration: { patterns: ['youtube.com'] } });
      if (result.ok) expect(result.notes.map((n) => n.kept)).toEqual([undefined, undefined]);
    });

    it('trims the name', () => {
      expect(validateRegistration({ ...valid, serverName: '  Unona ' })).toMatchObject({ ok: true, registration: { name: 'Unona' } });
    });

    it.each(['', '0.0.0.0', '::', '[::]', ' 0.0.0.0 ', '0:0:0:0:0:0:0:0'])('takes the caller\'s address for the host %j', (host) => {
      const result = validateRegistration({ ...valid, serverHost: host }, { peerAddress: '192.168.1.20' });
      expect(result).toMatchObject({ ok: true, registration: { host: '192.168.1.20' }, hostFromPeer: true });
    });

    it('refuses an empty host when the caller\'s address is unknown', () => {
      expect(validateRegistration({ ...valid, serverHost: '' })).toEqual({ ok: false, reason: expect.stringContaining('serverHost is empty') });
    });
  });

  it.each([
    [{ serverName: '' }, 'serverName is required'],
    [{ serverName: '   ' }, 'serverName is required'],
    [{ serverName: 'x'.repeat(129) }, 'serverName must be at most 128'],
    [{ serverName: 'bad\nname' }, 'serverName must not contain control'],
    [{ serverHost: 'http://nas' }, 'serverHost must be a host name'],
    [{ serverHost: 'nas local' }, 'serverHost must be a host name'],
    [{ serverHost: 'nas!' }, 'serverHost must be a host name'],
    [{ serverPort: 0 }, 'serverPort must be between 1 and 65535'],
    [{ serverPort: -5 }, 'serverPort must be between 1 and 65535'],
    [{ serverPort: 70000 }, 'serverPort must be between 1 and 65535'],
    [{ allowedRootLinks: [] }, 'no usable pattern'],
    [{ allowedRootLinks: [''] }, 'no usable pattern'],
    [{ allowedRootLinks: ['', ' '] }, 'no usable pattern'],
    [{ allowedRootLinks: ['not a host', '-bad.com'] }, 'no usable pattern'],
    [{ allowedRootLinks: Array.from({ length: 257 }, (_, i) => `h${i}.com`) }, 'at most 256'],
    [{ allowedRootLinks: [...Array.from({ length: 256 }, () => ''), 'youtube.com'] }, 'at most 256'],
  ])('refuses %j: %s', (change, reason) => {
    const result = validateRegistration({ ...valid, ...change }, { peerAddress: '127.0.0.1' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it('accepts exactly 256 patterns and a 128-character name', () => {
    const result = validateRegistration({ ...valid, serverName: 'n'.repeat(128), allowedRootLinks: Array.from({ length: 256 }, (_, i) => `h${i}.com`) });
    expect(result.ok).toBe(true);
  });

  describe('the bound on pattern bytes (MAX_PATTERN_BYTES)', () => {
    // 16 bytes each: "h000.example.com".
    const hosts = (n: number) => Array.from({ length: n }, (_, i) => `h${String(i).padStart(3, '0')}.example.com`);

    it('counts the patterns kept, in UTF-8 bytes', () => {
      expect(patternBytes(['youtube.com', '*'])).toBe(12);
      expect(patternBytes(['é'])).toBe(2);
    });

    it('accepts patterns coming to exactly the bound and refuses one byte more, naming the rule', () => {
      expect(validateRegistration({ ...valid, allowedRootLinks: hosts(16) }, { maxPatternBytes: 256 }).ok).toBe(true);
      const over = validateRegistration({ ...valid, allowedRootLinks: [...hosts(15), 'h015.example.co', 'ab'] }, { maxPatternBytes: 256 });
      expect(over).toEqual({ ok: false, reason: 'allowedRootLinks must come to at most 256 bytes of patterns (after clean-up)' });
    });

    it('counts what is kept, not what was sent: duplicates, spaces and URLs around a host cost nothing', () => {
      const sloppy = [...hosts(16).map((h) => ` https://${h.toUpperCase()}/some/long/path?q=1 `), ...hosts(16)];
      expect(validateRegistration({ ...valid, allowedRootLinks: sloppy }, { maxPatternBytes: 256 }).ok).toBe(true);
    });

    it(`defaults to ${DEFAULT_MAX_PATTERN_BYTES} bytes: 256 junk hosts of 60 characters are refused, a real fleet's list is not`, () => {
      const junk = Array.from({ length: 256 }, (_, i) => `p${i}-${'x'.repeat(50)}.example.com`);
      expect(validateRegistration({ ...valid, allowedRootLinks: junk })).toMatchObject({ ok: false, reason: expect.stringContaining(`at most ${DEFAULT_MAX_PATTERN_BYTES} bytes`) });
      const fleet = ['youtube.com', 'rutube.ru', 'vk.com', 'vimeo.com', 'dzen.ru', 'ok.ru', 'twitch.tv', 'soundcloud.com', 'bandcamp.com', 'tiktok.com'];
      expect(validateRegistration({ ...valid, allowedRootLinks: fleet }).ok).toBe(true);
    });

    it('never echoes a pattern in its reason', () => {
      const result = validateRegistration({ ...valid, allowedRootLinks: ['secret-host-name.example.com', ...hosts(20)] }, { maxPatternBytes: 256 });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).not.toMatch(/secret|example/);
    });
  });

  it('never echoes the input in a reason', () => {
    const result = validateRegistration({ ...valid, allowedRootLinks: ['https://secret-token@', 'secret token'] });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).not.toContain('secret');
  });
});

describe('peerAddress', () => {
  it.each([
    ['127.0.0.1:54321', '127.0.0.1'],
    ['ipv4:10.0.0.5:50051', '10.0.0.5'],
    ['::1:54321', '::1'],
    ['[::1]:54321', '::1'],
    ['ipv6:[fe80::1]:443', 'fe80::1'],
    ['::ffff:127.0.0.1:40000', '127.0.0.1'],
    ['::FFFF:192.168.0.9:1', '192.168.0.9'],
    ['10.0.0.9', '10.0.0.9'],
  ])('reads %s as %s', (peer, address) => {
    expect(peerAddress(peer)).toBe(address);
  });

  it.each(['unknown', '', '/tmp/grpc.sock', 'localhost:80'])('finds no address in %j', (peer) => {
    expect(peerAddress(peer)).toBeUndefined();
  });
});
