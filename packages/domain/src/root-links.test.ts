import { describePatternNotes, isHostname, normaliseRootLinks } from './root-links';

describe('normaliseRootLinks', () => {
  it('takes the deployed downloader’s split config string: trimmed, empty ones dropped', () => {
    const { patterns, notes } = normaliseRootLinks(['youtube.com', ' rutube.ru', '']);
    expect(patterns).toEqual(['youtube.com', 'rutube.ru']);
    expect(notes).toEqual([{ given: '', why: 'empty' }]);
  });

  it('keeps the wildcards and lower-cases hosts', () => {
    expect(normaliseRootLinks(['ALL', ' Any ', '*', 'VK.com']).patterns).toEqual(['all', 'any', '*', 'vk.com']);
  });

  it('takes a URL, a host with a port or a path as its host', () => {
    const { patterns, notes } = normaliseRootLinks(['https://www.YouTube.com/', 'rutube.ru/video/1', 'vk.com:443', 'http://[::1]:8080/x']);
    expect(patterns).toEqual(['www.youtube.com', 'rutube.ru', 'vk.com', '::1']);
    expect(notes.map((n) => n.kept)).toEqual(['www.youtube.com', 'rutube.ru', 'vk.com', '::1']);
  });

  it('takes off a leading *. or . and a trailing dot', () => {
    const { patterns, notes } = normaliseRootLinks(['*.youtube.com', '.rutube.ru', 'vk.com.']);
    expect(patterns).toEqual(['youtube.com', 'rutube.ru', 'vk.com']);
    expect(notes).toHaveLength(3);
  });

  it('keeps IP addresses and writes international names in ASCII', () => {
    expect(normaliseRootLinks(['10.0.0.7', 'кц.рф']).patterns).toEqual(['10.0.0.7', 'xn--j1ay.xn--p1ai']);
  });

  it('drops what cannot be a host, and duplicates', () => {
    const { patterns, notes } = normaliseRootLinks(['you tube.com', 'a_b.com', 42, 'youtube.com', 'YOUTUBE.COM', '*.', '.']);
    expect(patterns).toEqual(['youtube.com']);
    expect(notes.map((n) => n.given)).toEqual(['you tube.com', 'a_b.com', '42', '*.', '.']);
    expect(notes.every((n) => n.kept === undefined)).toBe(true);
  });

  it('describes its notes in one line', () => {
    const { notes } = normaliseRootLinks(['', 'https://vk.com/']);
    expect(describePatternNotes(notes)).toBe('"" dropped (empty); "https://vk.com/" → vk.com (the host of a URL)');
  });

  it('cuts a long pattern in its note', () => {
    const { notes } = normaliseRootLinks(['x y'.repeat(100)]);
    expect(notes[0]!.given.length).toBe(80);
  });
});

describe('isHostname', () => {
  it.each([
    ['youtube.com', true],
    ['m.youtube.com', true],
    ['-bad.com', false],
    ['a..b', false],
    ['', false],
    ['x'.repeat(64) + '.com', false],
  ])('%s → %s', (value, expected) => expect(isHostname(value)).toBe(expected));
});
