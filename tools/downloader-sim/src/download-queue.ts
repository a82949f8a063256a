import type { OnWork, Task } from '@dwld/contract';
import { destinationFolder, filenameFor, progressAfter } from './simulation';

export interface DownloadQueueOptions {
  /** How long one download takes (ms). */
  durationMs: number;
  /** Size of every download (bytes). */
  sizeBytes: number;
  /** Downloads at once; the rest wait. */
  concurrency: number;
  /** The clock (ms since the epoch); injected in tests. */
  now?: () => number;
}

export interface NewDownload {
  link: string;
  userName: string;
  maxQuality?: number;
}

interface Download extends NewDownload {
  filename: string;
  moveTo: string;
  queuedAt: number;
  /** Set once a slot is free for it. */
  startedAt?: number;
  finishedAt?: number;
}

export type DownloadStatus = 'queued' | 'downloading' | 'done';

/**
 * The downloads of a simulated downloader. Nothing ticks: every read first settles the
 * state up to the clock's now — downloads whose time is up move to the history and the next
 * waiting ones start at the moment their slot became free — so progress is exact and free.
 */
export class DownloadQueue {
  private readonly now: () => number;
  /** Running, in start order. */
  private active: Download[] = [];
  /** Waiting for a slot, in arrival order. */
  private waiting: Download[] = [];
  /** Finished, oldest first. */
  private history: Download[] = [];

  constructor(private readonly options: DownloadQueueOptions) {
    if (!(options.concurrency >= 1)) throw new RangeError('concurrency must be at least 1');
    this.now = options.now ?? Date.now;
  }

  /** Queues a download unless the link is already in work; true when it was added. */
  add(request: NewDownload): boolean {
    const now = this.settle();
    if (this.inWork().some((d) => d.link === request.link)) return false;
    this.waiting.push({
      link: request.link,
      userName: request.userName,
      ...(request.maxQuality === undefined ? {} : { maxQuality: request.maxQuality }),
      filename: filenameFor(request.link),
      moveTo: destinationFolder(request.userName),
      queuedAt: now,
    });
    this.fill(now);
    return true;
  }

  /** Removes the link wherever it is (running, waiting, finished); true when it was there. */
  remove(link: string): boolean {
    const now = this.settle();
    const before = this.active.length + this.waiting.length + this.history.length;
    this.active = this.active.filter((d) => d.link !== link);
    this.waiting = this.waiting.filter((d) => d.link !== link);
    this.history = this.history.filter((d) => d.link !== link);
    this.fill(now);
    return this.active.length + this.waiting.length + this.history.length < before;
  }

  /** Forgets finished downloads; returns them. */
  cleanHistory(): Task[] {
    this.settle();
    const cleaned = this.history.map((d) => this.task(d));
    this.history = [];
    return cleaned;
  }

  /** Links in work (running, then waiting) as Tasks. */
  tasksInWork(): Task[] {
    this.settle();
    return this.inWork().map((d) => this.task(d));
  }

  /** The history then the links in work, as Tasks. */
  allTasks(): Task[] {
    this.settle();
    return [...this.history, ...this.inWork()].map((d) => this.task(d));
  }

  /** Links in work with their progress at this moment. */
  onWork(): OnWork[] {
    const now = this.settle();
    return this.inWork().map((d) => {
      const progress = d.startedAt === undefined ? progressAfter(0, 1, this.options.sizeBytes) : progressAfter(now - d.startedAt, this.options.durationMs, this.options.sizeBytes);
      return {
        link: d.link,
        filename: d.filename,
        moveTo: d.moveTo,
        targetQuantity: d.maxQuality ?? 0,
        procentage: progress.percent,
        status: this.status(d),
        currentSize: progress.currentBytes,
        totalSize: this.options.sizeBytes,
        message: d.startedAt === undefined ? `waiting for a free slot (${this.options.concurrency} at once)` : '',
      };
    });
  }

  /** Counts at this moment (for sensors and metrics). */
  counts(): { downloading: number; queued: number; done: number } {
    this.settle();
    return { downloading: this.active.length, queued: this.waiting.length, done: this.history.length };
  }

  /** Bytes of the finished downloads still in the history. */
  storedBytes(): number {
    this.settle();
    return this.history.length * this.options.sizeBytes;
  }

  clear(): void {
    this.active = [];
    this.waiting = [];
    this.history = [];
  }

  private inWork(): Download[] {
    return [...this.active, ...this.waiting];
  }

  private status(d: Download): DownloadStatus {
    if (d.finishedAt !== undefined) return 'done';
    return d.startedAt === undefined ? 'queued' : 'downloading';
  }

  private task(d: Download): Task {
    const status = this.status(d);
    return {
      link: d.link,
      status,
      maxQuantity: d.maxQuality === undefined ? 'max' : String(d.maxQuality),
      name: d.filename,
      ...(status === 'done' ? { message: `saved to ${d.moveTo}/${d.filename}` } : {}),
    };
  }

  /** Plays the simulation forward to now: finishes what is due, starting waiting downloads as slots free. */
  private settle(): number {
    const now = this.now();
    const { durationMs } = this.options;
    for (;;) {
      let next: Download | undefined;
      for (const d of this.active) if (next === undefined || d.startedAt! < next.startedAt!) next = d;
      if (next === undefined || next.startedAt! + durationMs > now) break;
      const finishedAt = next.startedAt! + durationMs;
      this.active = this.active.filter((d) => d !== next);
      next.finishedAt = finishedAt;
      this.history.push(next);
      this.fill(finishedAt);
    }
    return now;
  }

  /** Starts waiting downloads at `at` while slots are free. */
  private fill(at: number): void {
    while (this.active.length < this.options.concurrency && this.waiting.length > 0) {
      const d = this.waiting.shift()!;
      d.startedAt = at;
      this.active.push(d);
    }
  }
}
