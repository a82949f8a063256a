import { nextHealth } from './health';

describe('nextHealth', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const at = (s: number) => new Date(t0.getTime() + s * 1000);

  it('marks a downloader healthy and seen as soon as it answers', () => {
    expect(nextHealth({ healthy: false, lastSeenAt: t0 }, true, at(100), 30_000)).toEqual({ healthy: true, lastSeenAt: at(100) });
  });
  it('keeps it healthy through failures shorter than the limit', () => {
    expect(nextHealth({ healthy: true, lastSeenAt: t0 }, false, at(29), 30_000)).toEqual({ healthy: true, lastSeenAt: t0 });
  });
  it('marks it unhealthy once silent for the limit, and keeps it so', () => {
    expect(nextHealth({ healthy: true, lastSeenAt: t0 }, false, at(30), 30_000)).toEqual({ healthy: false, lastSeenAt: t0 });
    expect(nextHealth({ healthy: false, lastSeenAt: t0 }, false, at(31), 30_000).healthy).toBe(false);
  });
});
