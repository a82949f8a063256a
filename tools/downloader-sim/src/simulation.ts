// The pure parts of the simulation: progress from the clock, where a download is filed, its
// file name, what the sensors say. No I/O, no timers.

export const MIB = 1024 * 1024;

export interface Progress {
  /** 0 to 1. */
  fraction: number;
  /** 0 to 100, two decimals. */
  percent: number;
  /** Whole bytes received so far. */
  currentBytes: number;
  done: boolean;
}

/** How far a download of `totalBytes` taking `durationMs` is after `elapsedMs` (clamped to 0..1). */
export function progressAfter(elapsedMs: number, durationMs: number, totalBytes: number): Progress {
  const fraction = durationMs <= 0 ? 1 : Math.min(1, Math.max(0, elapsedMs / durationMs));
  return {
    fraction,
    percent: Math.round(fraction * 10_000) / 100,
    currentBytes: Math.floor(totalBytes * fraction),
    done: fraction >= 1,
  };
}

/** True for a non-empty absolute http(s) URL with a host. */
export function isDownloadableLink(link: string): boolean {
  if (link.trim() === '' || link !== link.trim()) return false;
  try {
    const url = new URL(link);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** One safe path segment: no separators, no `.`/`..`, no control characters. */
function segment(value: string): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = value.trim().replace(/[/\\\u0000-\u001f\u007f]+/g, '_');
  return cleaned === '.' || cleaned === '..' ? '_' : cleaned;
}

/**
 * Where a download is moved once done: `[user] Folder` (the form the gateway sends with a
 * folder) goes to `<root>/user/Folder`, a plain `user` to `<root>/user`, nothing to `<root>`.
 */
export function destinationFolder(userName: string, root = '/downloads'): string {
  const trimmed = userName.trim();
  const withFolder = /^\[([^\]]*)\]\s*(.*)$/.exec(trimmed);
  const parts = withFolder ? [withFolder[1]!, withFolder[2]!] : [trimmed];
  const segments = parts.map(segment).filter((part) => part !== '');
  return [root, ...segments].join('/');
}

const MAX_NAME = 80;

/**
 * A plausible file name for a link: the `v` query parameter (video sites) or the last path
 * segment or the host, reduced to safe characters, with `.mp4` unless it has an extension.
 */
export function filenameFor(link: string): string {
  let base = 'download';
  // Only a file name taken from the path may already carry its extension.
  let fromPath = false;
  try {
    const url = new URL(link);
    const lastSegment = url.pathname.split('/').filter(Boolean).pop();
    let decoded: string | undefined;
    try {
      decoded = lastSegment === undefined ? undefined : decodeURIComponent(lastSegment);
    } catch {
      decoded = lastSegment;
    }
    const video = url.searchParams.get('v');
    fromPath = !video && !!decoded;
    base = video || decoded || url.hostname || base;
  } catch {
    // not a URL: keep the default
  }
  const safe = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, MAX_NAME) || 'download';
  return fromPath && /\.[A-Za-z0-9]{2,4}$/.test(safe) ? safe : `${safe}.mp4`;
}

export interface SensorInput {
  /** Downloads running now. */
  busy: number;
  slots: number;
  /** Bytes finished so far (fills the simulated disk). */
  storedBytes: number;
}

/** A plausible sensors line: warmer while busy, the disk filling as downloads finish. */
export function sensorsLine({ busy, slots, storedBytes }: SensorInput): string {
  const temperature = 38 + Math.min(40, Math.round((busy / Math.max(1, slots)) * 25));
  const diskBytes = 4 * 1024 * MIB * 1024; // 4 TiB
  const freePercent = Math.max(1, Math.round(100 - (storedBytes / diskBytes) * 100 - 20));
  return `cpu ${temperature}°C, disk ${freePercent}% free, ${busy}/${slots} downloading`;
}
