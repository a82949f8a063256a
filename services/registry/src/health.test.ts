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
  it('counts silence from when the registry began watching, not from a sighting before it', () => {
    // Last seen an hour before this registry started: not unhealthy until silent for the limit since the start.
    const started = at(3600);
    expect(nextHealth({ healthy: true, lastSeenAt: t0 }, false, at(3610), 30_000, started)).toEqual({ healthy: true, lastSeenAt: t0 });
    expect(nextHealth({ healthy: true, lastSeenAt: t0 }, false, at(3630), 30_000, started).healthy).toBe(false);
    // A later sighting still counts from itself.
    expect(nextHealth({ healthy: true, lastSeenAt: at(3700) }, false, at(3720), 30_000, started).healthy).toBe(true);
  });
  it('marks it unhealthy once silent for the limit, and keeps it so', () => {
    expect(nextHealth({ healthy: true, lastSeenAt: t0 }, false, at(30), 30_000)).toEqual({ healthy: false, lastSeenAt: t0 });
    expect(nextHealth({ healthy: false, lastSeenAt: t0 }, false, at(31), 30_000).healthy).toBe(false);
  });
});
