import { isQuality } from '@dwld/domain';

/** Telegram's limit on an inline button's callback_data, in UTF-8 bytes. */
export const CALLBACK_DATA_MAX_BYTES = 64;

/** The statuses /select can filter on. */
export type FilterStatus = 'queued' | 'retrying' | 'failed';
export const FILTER_STATUSES: readonly FilterStatus[] = ['queued', 'retrying', 'failed'];

export type CallbackAction =
  | { kind: 'quality'; linkId: number; quality: string }
  | { kind: 'folder'; linkId: number; folderIndex: number }
  /** ✖ on a link's card. */
  | { kind: 'remove'; linkId: number }
  /** ✖ next to a link in /queue's listing (the listing is drawn again). */
  | { kind: 'remove-listed'; linkId: number }
  /** ↻ on a failed link's card: queue it afresh. */
  | { kind: 'retry'; linkId: number }
  | { kind: 'filter'; status: FilterStatus }
  /** The answer to /clean's "are you sure?": go ahead, or leave the history alone. */
  | { kind: 'clean'; confirmed: boolean }
  | { kind: 'noop' };

// Canonical decimal: no sign, no leading zeros, so each id has exactly one encoding.
const DECIMAL = /^(0|[1-9]\d*)$/;

/**
 * The compact payload of an action: `q:<linkId>:<quality>`, `f:<linkId>:<folderIndex>`,
 * `r:<linkId>`, `x:<linkId>`, `t:<linkId>`, `s:<status>`, `c:y` / `c:n`, `n`. Throws for fields decode would refuse, and for a payload
 * over 64 bytes.
 */
export function encodeCallbackData(action: CallbackAction): string {
  const data = payloadOf(action);
  const bytes = Buffer.byteLength(String(data), 'utf8');
  if (bytes > CALLBACK_DATA_MAX_BYTES) throw new RangeError(`callback data is ${bytes} bytes, over Telegram's ${CALLBACK_DATA_MAX_BYTES}`);
  if (decodeCallbackData(data) === null) throw new RangeError(`callback action has an invalid field: ${JSON.stringify(action)}`);
  return data;
}

function payloadOf(action: CallbackAction): string {
  switch (action.kind) {
    case 'quality':
      return `q:${action.linkId}:${action.quality}`;
    case 'folder':
      return `f:${action.linkId}:${action.folderIndex}`;
    case 'remove':
      return `r:${action.linkId}`;
    case 'remove-listed':
      return `x:${action.linkId}`;
    case 'retry':
      return `t:${action.linkId}`;
    case 'filter':
      return `s:${action.status}`;
    case 'clean':
      return `c:${action.confirmed === true ? 'y' : action.confirmed === false ? 'n' : '?'}`;
    case 'noop':
      return 'n';
  }
}

/** The action a button payload stands for; null for anything malformed. Never throws. */
export function decodeCallbackData(data: unknown): CallbackAction | null {
  if (typeof data !== 'string' || Buffer.byteLength(data, 'utf8') > CALLBACK_DATA_MAX_BYTES) return null;
  const [prefix, first, second, ...extra] = data.split(':');
  if (extra.length > 0) return null;
  switch (prefix) {
    case 'q': {
      const linkId = parseId(first);
      if (linkId === null || second === undefined || !isQuality(second)) return null;
      return { kind: 'quality', linkId, quality: second };
    }
    case 'f': {
      const linkId = parseId(first);
      const folderIndex = parseId(second);
      if (linkId === null || folderIndex === null) return null;
      return { kind: 'folder', linkId, folderIndex };
    }
    case 'r':
    case 'x':
    case 't': {
      const linkId = parseId(first);
      if (linkId === null || second !== undefined) return null;
      return { kind: prefix === 'r' ? 'remove' : prefix === 'x' ? 'remove-listed' : 'retry', linkId };
    }
    case 's': {
      const status = FILTER_STATUSES.find((candidate) => candidate === first);
      if (status === undefined || second !== undefined) return null;
      return { kind: 'filter', status };
    }
    case 'c':
      if (second !== undefined || (first !== 'y' && first !== 'n')) return null;
      return { kind: 'clean', confirmed: first === 'y' };
    case 'n':
      return first === undefined ? { kind: 'noop' } : null;
    default:
      return null;
  }
}

/** A non-negative safe integer written canonically, else null. */
function parseId(text: string | undefined): number | null {
  if (text === undefined || !DECIMAL.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}
