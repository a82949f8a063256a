// What the deployed Go downloader (RenterRus/dwld-downloader, read at commit c23ee23) says and
// does, as plain data. Each value names where in its source it comes from; the code is theirs,
// these are facts about it.

/** Its task statuses (internal/entity/download.go), in the order a link goes through them. */
export const GO_STATUSES = ['NEW', 'WORK', 'TO_SEND', 'SENDING', 'DONE'] as const;
export type GoStatus = (typeof GO_STATUSES)[number];

/**
 * The quality bounds of internal/repo/downloader/downloader.go (MIN_QUALITY, MAX_QUALITY). The
 * number sent is stored as is; the download itself asks yt-dlp for `bv*[height<=q]+ba` with q
 * clamped to these bounds, so an absent maxQuality (read as 0) downloads at 720 at most.
 */
export const GO_MIN_QUALITY = 720;
export const GO_MAX_QUALITY = 10_000;

/** The height limit a download of `maxQuality` (absent: 0) runs with. */
export function goQualityLimit(maxQuality: number | undefined): number {
  const asked = maxQuality ?? 0;
  return Math.min(GO_MAX_QUALITY, Math.max(GO_MIN_QUALITY, asked));
}

/** `filename` of a row until yt-dlp names the file (persistent.Insert); Task.name carries it. */
export const GO_FILENAME_UNKNOWN = 'COMING SOON';

/**
 * SetToQueue of a link already in its table. The details of the gRPC status (code UNKNOWN), as
 * the wrapping stands at HEAD: controller `SetToQueue: %w` ← usecase `SetToQueue: %w` ←
 * persistent.Insert `insert new link: %w` ← sqldb.Exec `query (exec): %w` ← mattn/go-sqlite3's
 * message. (Exec retries the statement 5 times first; the text is the last failure's.)
 */
export const GO_UNIQUE_ERROR = 'SetToQueue: SetToQueue: insert new link: query (exec): UNIQUE constraint failed: links.link';

/**
 * The same from downloaders built before 2025-07-21 (commit 1e9c47f), when sqldb.Exec wrapped
 * with `query: %w`. The Go bot's own database recorded it as
 * `SetToQueue: rpc error: code = Unknown desc = <this>`: the first `SetToQueue: ` and the
 * `rpc error: …` are the bot's and grpc-go's, the rest is the downloader's.
 */
export const GO_UNIQUE_ERROR_BEFORE_2025_07_21 = 'SetToQueue: SetToQueue: insert new link: query: UNIQUE constraint failed: links.link';

/** SetToQueue with an empty link (the controller's only check of a request). */
export const GO_EMPTY_REQUEST_ERROR = 'SetToQueue: empty request';

/** `Task.message` once a download succeeded (sic: "witn"), stage and retry counted as the Go code does. */
export function goDownloadCompleteMessage(stage = 1, retry = 0): string {
  return `download complete on stage #${stage} witn retries on stage ${retry}`;
}

/** `Task.message` after a failed attempt; the row then goes back to NEW and is tried again. */
export function goDownloadFailedMessage(reason: string, stage = 1, retry = 0): string {
  return `download failed on stage #${stage} with retries on stage ${retry}. Reason: ${reason}`;
}

/** Healtheck's answer: always this, whatever its state. */
export const GO_HEALTHECK_MESSAGE = 'OK';

/**
 * grpc-go's code names, as its `rpc error: code = … desc = …` text spells them (what the Go
 * downloader prints when its registration fails).
 */
export const GO_CODE_NAMES: Readonly<Record<number, string>> = {
  0: 'OK',
  1: 'Canceled',
  2: 'Unknown',
  3: 'InvalidArgument',
  4: 'DeadlineExceeded',
  5: 'NotFound',
  6: 'AlreadyExists',
  7: 'PermissionDenied',
  8: 'ResourceExhausted',
  9: 'FailedPrecondition',
  10: 'Aborted',
  11: 'OutOfRange',
  12: 'Unimplemented',
  13: 'Internal',
  14: 'Unavailable',
  15: 'DataLoss',
  16: 'Unauthenticated',
};
