// What dwld asks of a downloader, in dwld's own words. The services speak only this; each
// protocol a downloader may speak (grpc.v1 today, see grpc-v1-downloaders.ts) is one adapter
// behind it, which maps these shapes to its wire and every failure to a DownloaderError
// (@dwld/errors): no wire shape or status code reaches a decision or a text.

/** Where a downloader listens. */
export interface DownloaderAddress {
  host: string;
  port: number;
}

/**
 * A downloader to call: by its registered name (the adapter looks its address up at the moment
 * of the call), or by name with an address the caller vouches is current: read from the
 * registry's table just now (a poll's claim reads it in the same statement), with every
 * re-registration heard of since applied. The adapter calls that address as given.
 */
export type DownloaderTarget = string | { name: string; address: DownloaderAddress };

/** A link handed over to be downloaded. */
export interface HandOver {
  url: string;
  /** Where the file goes, as the downloader expects it ("[username] Folder" or the username). */
  destination: string;
  /** The largest video height wanted; absent for no limit. */
  maxQuality?: number;
}

/**
 * Where a link stands in a downloader's queue: `held` (waiting, in work, being sent on) or
 * `finished` (downloaded; the deployed downloaders keep such rows, and refuse the link again,
 * until their history is cleaned).
 */
export type QueueStage = 'held' | 'finished';

export interface QueuedLink {
  url: string;
  stage: QueueStage;
  /** The downloader's own status word (NEW, WORK, TO_SEND, DONE…), for people and logs. */
  status: string;
  /** The file it became, when known. */
  fileName?: string;
  /** The downloader's message about it (an error text, usually). */
  message?: string;
}

/** A download in progress, as a downloader reports it. */
export interface DownloadProgress {
  url: string;
  fileName: string;
  /** Where the file goes once done ("" when it stays where it is). */
  destination: string;
  /** The height it is fetched at. */
  quality: number;
  /** 0–100. */
  percent: number;
  status: string;
  bytesDone: number;
  bytesTotal: number;
  message: string;
}

export interface DownloaderStatus {
  downloads: DownloadProgress[];
  /** The machine's sensors as the downloader words them ("" when it has none). */
  sensors: string;
}

/**
 * Every call rejects with a DownloaderError (@dwld/errors): its `failure` says what kind
 * (no_downloader, unavailable, refused, internal), `details` the downloader's own words,
 * `outcomeUncertain` / `answerLost` whether it may have acted although the call failed.
 */
export interface DownloaderPort {
  /** Queues a link for download. */
  handOver(target: DownloaderTarget, handOver: HandOver): Promise<void>;
  /** Takes a link out of the downloader's queue. */
  remove(target: DownloaderTarget, url: string): Promise<void>;
  /** The downloader's queue, finished links included. */
  queue(target: DownloaderTarget): Promise<QueuedLink[]>;
  /** What it is downloading now. */
  status(target: DownloaderTarget): Promise<DownloaderStatus>;
  /** Forgets the finished links (they can be downloaded again); resolves with how many it forgot. */
  clean(target: DownloaderTarget): Promise<number>;
  /** Resolves when the downloader answers its health check (with what it said, if anything). */
  health(target: DownloaderTarget): Promise<{ message?: string }>;
  /** Closes every open connection. */
  close(): void;
}
