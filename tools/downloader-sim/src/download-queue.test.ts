import { DownloadQueue } from './download-queue';

function clock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function setup(concurrency = 2, durationMs = 10_000) {
  const time = clock();
  const queue = new DownloadQueue({ durationMs, sizeBytes: 1000, concurrency, now: time.now });
  return { time, queue };
}

const link = (n: number) => `https://example.com/video${n}`;

describe('DownloadQueue', () => {
  it('downloads up to `concurrency` at once; the rest wait in order', () => {
    const { queue } = setup(2);
    for (const n of [1, 2, 3]) expect(queue.add({ link: link(n), userName: 'alice' })).toBe(true);
    expect(queue.tasksInWork()).toEqual([
      { link: link(1), status: 'downloading', maxQuantity: 'max', name: 'video1.mp4' },
      { link: link(2), status: 'downloading', maxQuantity: 'max', name: 'video2.mp4' },
      { link: link(3), status: 'queued', maxQuantity: 'max', name: 'video3.mp4' },
    ]);
    expect(queue.counts()).toEqual({ downloading: 2, queued: 1, done: 0 });
  });

  it('reports progress computed from the clock', () => {
    const { time, queue } = setup(1);
    queue.add({ link: link(1), userName: '[alice] Films', maxQuality: 720 });
    queue.add({ link: link(2), userName: 'bob' });
    time.advance(2_500);
    expect(queue.onWork()).toEqual([
      { link: link(1), filename: 'video1.mp4', moveTo: '/downloads/alice/Films', targetQuantity: 720, procentage: 25, status: 'downloading', currentSize: 250, totalSize: 1000, message: '' },
      { link: link(2), filename: 'video2.mp4', moveTo: '/downloads/bob', targetQuantity: 0, procentage: 0, status: 'queued', currentSize: 0, totalSize: 1000, message: 'waiting for a free slot (1 at once)' },
    ]);
    time.advance(5_000);
    expect(queue.onWork()[0]).toMatchObject({ procentage: 75, currentSize: 750 });
  });

  it('finishes downloads when their time is up and starts the next at the moment a slot freed', () => {
    const { time, queue } = setup(1);
    queue.add({ link: link(1), userName: 'alice' });
    queue.add({ link: link(2), userName: 'alice' });
    // Nobody looked while the first finished: the second still started at 10 s, not at 13 s.
    time.advance(13_000);
    expect(queue.onWork()).toEqual([expect.objectContaining({ link: link(2), status: 'downloading', procentage: 30 })]);
    expect(queue.allTasks()).toEqual([
      { link: link(1), status: 'done', maxQuantity: 'max', name: 'video1.mp4', message: 'saved to /downloads/alice/video1.mp4' },
      { link: link(2), status: 'downloading', maxQuantity: 'max', name: 'video2.mp4' },
    ]);
    time.advance(7_000);
    expect(queue.onWork()).toEqual([]);
    expect(queue.counts()).toEqual({ downloading: 0, queued: 0, done: 2 });
  });

  it('catches up over a long gap, finishing several rounds', () => {
    const { time, queue } = setup(2);
    for (const n of [1, 2, 3, 4, 5]) queue.add({ link: link(n), userName: 'u' });
    time.advance(25_000);
    // 1,2 done at 10 s; 3,4 done at 20 s; 5 started at 20 s.
    expect(queue.allTasks().map((t) => [t.link, t.status])).toEqual([
      [link(1), 'done'],
      [link(2), 'done'],
      [link(3), 'done'],
      [link(4), 'done'],
      [link(5), 'downloading'],
    ]);
    expect(queue.onWork()[0]).toMatchObject({ procentage: 50 });
  });

  it('keeps maxQuality as maxQuantity', () => {
    const { queue } = setup();
    queue.add({ link: link(1), userName: 'u', maxQuality: 1080 });
    queue.add({ link: link(2), userName: 'u' });
    expect(queue.tasksInWork().map((t) => t.maxQuantity)).toEqual(['1080', 'max']);
  });

  it('ignores a link already in work, and downloads a finished one again', () => {
    const { time, queue } = setup(1);
    expect(queue.add({ link: link(1), userName: 'u' })).toBe(true);
    expect(queue.add({ link: link(1), userName: 'other' })).toBe(false);
    expect(queue.tasksInWork()).toHaveLength(1);
    time.advance(10_000);
    expect(queue.add({ link: link(1), userName: 'u' })).toBe(true);
    expect(queue.allTasks().map((t) => t.status)).toEqual(['done', 'downloading']);
  });

  it('removes a link wherever it is; a removed download frees its slot now', () => {
    const { time, queue } = setup(1);
    queue.add({ link: link(1), userName: 'u' });
    queue.add({ link: link(2), userName: 'u' });
    queue.add({ link: link(3), userName: 'u' });
    time.advance(4_000);
    expect(queue.remove(link(3))).toBe(true); // waiting
    expect(queue.remove(link(1))).toBe(true); // running
    expect(queue.remove(link(9))).toBe(false);
    expect(queue.onWork()).toEqual([expect.objectContaining({ link: link(2), status: 'downloading', procentage: 0 })]);
    time.advance(10_000);
    expect(queue.remove(link(2))).toBe(true); // finished
    expect(queue.allTasks()).toEqual([]);
  });

  it('cleans the history and returns what it cleaned', () => {
    const { time, queue } = setup(1);
    queue.add({ link: link(1), userName: 'u' });
    queue.add({ link: link(2), userName: 'u' });
    time.advance(12_000);
    expect(queue.storedBytes()).toBe(1000);
    expect(queue.cleanHistory()).toEqual([expect.objectContaining({ link: link(1), status: 'done' })]);
    expect(queue.cleanHistory()).toEqual([]);
    expect(queue.allTasks().map((t) => t.link)).toEqual([link(2)]);
  });

  it('finishes at once with a zero duration', () => {
    const { queue } = setup(1, 0);
    queue.add({ link: link(1), userName: 'u' });
    queue.add({ link: link(2), userName: 'u' });
    expect(queue.tasksInWork()).toEqual([]);
    expect(queue.counts()).toEqual({ downloading: 0, queued: 0, done: 2 });
  });

  it('clears everything', () => {
    const { queue } = setup();
    queue.add({ link: link(1), userName: 'u' });
    queue.clear();
    expect(queue.allTasks()).toEqual([]);
  });
});
