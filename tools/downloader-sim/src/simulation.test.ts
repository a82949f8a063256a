import { retryDelay } from './registrar';
import { destinationFolder, filenameFor, isDownloadableLink, MIB, progressAfter, sensorsLine } from './simulation';

describe('progressAfter', () => {
  const total = 100 * MIB;
  it.each([
    [0, 0, 0, false],
    [2_500, 25, 25 * MIB, false],
    [5_000, 50, 50 * MIB, false],
    [10_000, 100, total, true],
    [60_000, 100, total, true],
    [-5, 0, 0, false],
  ])('after %p ms of 10 s: %p%%', (elapsed, percent, bytes, done) => {
    expect(progressAfter(elapsed, 10_000, total)).toEqual({ fraction: percent / 100, percent, currentBytes: bytes, done });
  });

  it('rounds the percentage to two decimals and the bytes down', () => {
    const progress = progressAfter(1, 3, 1000);
    expect(progress.percent).toBe(33.33);
    expect(progress.currentBytes).toBe(333);
  });

  it('is done at once when the duration is zero', () => {
    expect(progressAfter(0, 0, 10)).toMatchObject({ percent: 100, currentBytes: 10, done: true });
  });
});

describe('destinationFolder', () => {
  it.each([
    ['alice', '/downloads/alice'],
    ['[alice] Films', '/downloads/alice/Films'],
    ['[alice] Kids Films', '/downloads/alice/Kids Films'],
    ['[alice]', '/downloads/alice'],
    ['  bob  ', '/downloads/bob'],
    ['', '/downloads'],
    ['123456789', '/downloads/123456789'],
    ['[eve] ../../etc', '/downloads/eve/.._.._etc'],
    ['[eve] ..', '/downloads/eve/_'],
    ['a/b', '/downloads/a_b'],
  ])('%j goes to %s', (userName, folder) => {
    expect(destinationFolder(userName)).toBe(folder);
  });

  it('takes another root', () => {
    expect(destinationFolder('[u] F', '/srv')).toBe('/srv/u/F');
  });
});

describe('filenameFor', () => {
  it.each([
    ['https://www.youtube.com/watch?v=dQw4w9WgXcQ', 'dQw4w9WgXcQ.mp4'],
    ['https://vimeo.com/123456', '123456.mp4'],
    ['https://example.com/files/report.pdf', 'report.pdf'],
    ['https://example.com/', 'example.com.mp4'],
    ['https://example.com/a%20b%20c', 'a_b_c.mp4'],
    ['https://example.com/%E0%A4%A', 'E0_A4_A.mp4'],
    ['not a url', 'download.mp4'],
  ])('%s → %s', (link, name) => {
    expect(filenameFor(link)).toBe(name);
  });

  it('keeps names short', () => {
    expect(filenameFor(`https://example.com/${'x'.repeat(500)}`).length).toBeLessThanOrEqual(84);
  });
});

describe('isDownloadableLink', () => {
  it.each([
    ['https://youtube.com/watch?v=1', true],
    ['http://example.com', true],
    ['', false],
    ['   ', false],
    [' https://example.com', false],
    ['ftp://example.com/file', false],
    ['javascript:alert(1)', false],
    ['example.com/video', false],
    ['https://', false],
  ])('%j: %p', (link, ok) => {
    expect(isDownloadableLink(link)).toBe(ok);
  });
});

describe('sensorsLine', () => {
  it('reads plausibly and warms up while busy', () => {
    const idle = sensorsLine({ busy: 0, slots: 2, storedBytes: 0 });
    const busy = sensorsLine({ busy: 2, slots: 2, storedBytes: 0 });
    expect(idle).toBe('cpu 38°C, disk 80% free, 0/2 downloading');
    expect(busy).toBe('cpu 63°C, disk 80% free, 2/2 downloading');
  });
});

describe('retryDelay', () => {
  it('doubles from the minimum and stops at the maximum', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map((n) => retryDelay(n, 1000, 10_000))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });

  it('never exceeds a maximum below the minimum', () => {
    expect(retryDelay(1, 1000, 200)).toBe(200);
  });
});
