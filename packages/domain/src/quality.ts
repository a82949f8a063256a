/** A quality option as stored and carried on buttons: a canonical number like "720", or "max". */
export type Quality = string;

export const MAX_QUALITY_OPTIONS = 12;

/**
 * The quality buttons when QUALITY_OPTIONS is unset. The deployed downloaders clamp maxQuality
 * to 720…10000 (anything lower downloads at 720), so the defaults start at 720.
 */
export const DEFAULT_QUALITY_OPTIONS = '720,1080,1440,2160,max';

/** What `max` sends: the Go bot's "best", the highest maxQuality the deployed downloaders take. */
export const MAX_QUALITY_VALUE = 10_000;
/** The lowest maxQuality the deployed downloaders honour: they download anything lower at this. */
export const MIN_DEPLOYED_QUALITY = 720;
/**
 * The one rule for a quality wherever one is read (config, buttons, the HTTP API, the importer,
 * a stored row): a number of 2 to 5 digits, or max. QUALITY_OPTIONS are also canonical (see
 * parseQualityOptions), so each option has one spelling on a button.
 */
export const QUALITY_FORMAT = /^(\d{2,5}|max)$/;

/** The message every reader gives a value that is not a quality. */
export const NOT_A_QUALITY = 'is not a quality (a number like 720, or max)';

export function isQuality(value: string): value is Quality {
  return QUALITY_FORMAT.test(value);
}

/**
 * The quality options of a comma-separated list such as "720,1080,1440,2160,max".
 * Throws an Error naming the problem when an item is not a number from 10 to 99999 or max,
 * when one is listed twice, or when there are not 1 to 12 of them.
 */
export function parseQualityOptions(list: string): Quality[] {
  const items = list.split(',').map((item) => item.trim().toLowerCase());
  if (items.length === 1 && items[0] === '') throw new Error('quality options are empty: list numbers like 720, or max, separated by commas');
  if (items.length > MAX_QUALITY_OPTIONS) throw new Error(`quality options list ${items.length} qualities; at most ${MAX_QUALITY_OPTIONS} fit`);
  const options: Quality[] = [];
  for (const [index, item] of items.entries()) {
    // Canonical: no leading zeros, so "0720" cannot be a second spelling of 720.
    if (!isQuality(item) || item.startsWith('0')) {
      throw new Error(`quality option ${index + 1} ("${item.slice(0, 20)}") must be a whole number from 10 to 99999, or max`);
    }
    if (options.includes(item)) throw new Error(`quality option "${item}" is listed twice`);
    options.push(item);
  }
  return options;
}

/**
 * The maxQuality to send a downloader: the number itself, or MAX_QUALITY_VALUE (10000) for
 * "max". Any number is sent as it is, listed among today's options or not (a link imported from
 * the Go bot may carry 4320). Throws for a malformed quality.
 */
export function qualityToMaxQuality(quality: Quality): number {
  if (quality === 'max') return MAX_QUALITY_VALUE;
  if (!isQuality(quality) || Number(quality) === 0) throw new Error(`"${quality.slice(0, 20)}" ${NOT_A_QUALITY}`);
  return Number(quality);
}

export interface DestinationInput {
  username: string | null;
  /** The Telegram user id, used when the person has no username. */
  userId: string;
  folder: string | null;
}

/** The name a downloader files a link under: "[username] Folder" with a folder, else the username. */
export function formatDestination({ username, userId, folder }: DestinationInput): string {
  const owner = username !== null && username.trim() !== '' ? username.trim() : userId;
  const chosenFolder = folder?.trim() ?? '';
  return chosenFolder === '' ? owner : `[${owner}] ${chosenFolder}`;
}
