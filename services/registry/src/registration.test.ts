import { isHostname, validateRegistration } from './registration';

const valid = { serverName: 'home-nas', serverHost: 'nas.local', serverPort: 50051, allowedRootLinks: ['youtube.com', 'VK.com'] };

describe('validateRegistration', () => {
  it('accepts a good registration and normalises it', () => {
    expect(validateRegistration({ ...valid, allowedRootLinks: ['YouTube.com', 'youtube.com', '*'] })).toEqual({
      ok: true,
      registration: { name: 'home-nas', host: 'nas.local', port: 50051, patterns: ['youtube.com', '*'] },
    });
  });

  it.each(['*', 'any', 'all', 'ALL', 'localhost', 'm.youtube.com', 'xn--80ak6aa92e.com'])('accepts the pattern %s', (pattern) => {
    expect(validateRegistration({ ...valid, allowedRootLinks: [pattern] }).ok).toBe(true);
  });

  it.each(['10.1.2.3', '::1', '[::1]', 'fe80::1', 'downloader', 'a-b.example.org'])('accepts the host %s', (host) => {
    const result = validateRegistration({ ...valid, serverHost: host });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.registration.host).not.toMatch(/[[\]]/);
  });

  it.each([
    [{ serverName: '' }, 'serverName is required'],
    [{ serverName: '   ' }, 'serverName is required'],
    [{ serverName: 'x'.repeat(129) }, 'serverName must be at most 128'],
    [{ serverName: 'bad\nname' }, 'serverName must not contain control'],
    [{ serverHost: '' }, 'serverHost is required'],
    [{ serverHost: 'http://nas' }, 'serverHost must be a host name'],
    [{ serverHost: 'nas local' }, 'serverHost must be a host name'],
    [{ serverPort: 0 }, 'serverPort must be between 1 and 65535'],
    [{ serverPort: -5 }, 'serverPort must be between 1 and 65535'],
    [{ serverPort: 70000 }, 'serverPort must be between 1 and 65535'],
    [{ allowedRootLinks: [] }, 'at least one pattern'],
    [{ allowedRootLinks: Array.from({ length: 257 }, (_, i) => `h${i}.com`) }, 'at most 256'],
    [{ allowedRootLinks: ['youtube.com', 'https://vk.com/'] }, 'allowedRootLinks[1] must be a host name'],
    [{ allowedRootLinks: ['*.youtube.com'] }, 'allowedRootLinks[0] must be a host name'],
    [{ allowedRootLinks: [''] }, 'allowedRootLinks[0] must be a host name'],
    [{ allowedRootLinks: ['-bad.com'] }, 'allowedRootLinks[0] must be a host name'],
  ])('refuses %j: %s', (change, reason) => {
    const result = validateRegistration({ ...valid, ...change });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it('accepts exactly 256 patterns and a 128-character name', () => {
    const result = validateRegistration({ ...valid, serverName: 'n'.repeat(128), allowedRootLinks: Array.from({ length: 256 }, (_, i) => `h${i}.com`) });
    expect(result.ok).toBe(true);
  });

  it('never echoes the input in a reason', () => {
    const result = validateRegistration({ ...valid, allowedRootLinks: ['https://secret-token@vk.com'] });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).not.toContain('secret-token');
  });
});

describe('isHostname', () => {
  it('limits labels to 63 characters and names to 253', () => {
    expect(isHostname(`${'a'.repeat(63)}.com`)).toBe(true);
    expect(isHostname(`${'a'.repeat(64)}.com`)).toBe(false);
    expect(isHostname(Array.from({ length: 64 }, () => 'abc').join('.'))).toBe(false);
    expect(isHostname('a..b')).toBe(false);
  });
});
