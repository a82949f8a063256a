// Readers for stream replies. ioredis 6 talks RESP3 by default but, with its default
// `replyMapping: 'legacy'`, hands every reply over in the RESP2 shape: maps arrive as flat
// [k, v, k, v] arrays and strings as strings. The consumer refuses connections set to
// `replyMapping: 'resp3'` (maps as objects), so these readers only need the legacy shape.
// They stay strict about it: ioredis types these replies as `unknown`, and a shape this
// code does not know is better reported than silently read as "nothing arrived".
//
// One trap they do not cover: `redis.call('XREADGROUP', ...)` (upper-case name) skips
// ioredis' reply transformer and, under RESP3, yields [key, entries] instead of
// [[key, entries]]. The consumer only uses the typed methods.

import { errorMessage } from '@dwld/errors';

export interface StreamEntry {
  streamId: string;
  /** null when the entry was deleted (trimmed) while still pending. */
  fields: Record<string, string> | null;
}

function unexpected(what: string, value: unknown): Error {
  return new Error(`Unexpected ${what} reply shape: ${JSON.stringify(value)?.slice(0, 200)}`);
}

function str(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

/** A flat [k, v, k, v] array → a plain object, each value read with `read`. */
export function flatToRecord<T = unknown>(value: unknown, what = 'map', read: (v: unknown) => T = (v) => v as T): Record<string, T> {
  if (!Array.isArray(value) || value.length % 2 !== 0) throw unexpected(what, value);
  const out: Record<string, T> = {};
  for (let i = 0; i < value.length; i += 2) out[str(value[i])] = read(value[i + 1]);
  return out;
}

function parseFields(value: unknown): Record<string, string> | null {
  // One pass, straight to strings: this runs for every entry read.
  return value === null ? null : flatToRecord(value, 'entry fields', str);
}

/** [[id, [k, v, ...] | null], ...] → entries. */
export function parseEntries(value: unknown): StreamEntry[] {
  if (!Array.isArray(value)) throw unexpected('stream entries', value);
  return value.map((item: unknown) => {
    if (!Array.isArray(item) || item.length !== 2) throw unexpected('stream entry', item);
    return { streamId: str(item[0]), fields: parseFields(item[1]) };
  });
}

/**
 * The entries of an XREADGROUP reply for a single stream: null when BLOCK timed out, else
 * [[key, entries]]. The key is not compared: a connection `keyPrefix` would change it.
 */
export function parseReadReply(value: unknown): StreamEntry[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw unexpected('XREADGROUP', value);
  const [stream] = value as unknown[];
  if (stream === undefined) return [];
  if (!Array.isArray(stream) || stream.length !== 2) throw unexpected('XREADGROUP', value);
  return parseEntries(stream[1]);
}

export interface AutoClaimReply {
  nextCursor: string;
  entries: StreamEntry[];
  /** Pending ids whose entries no longer exist (trimmed); Redis ≥ 7 drops them from the PEL itself. */
  deletedIds: string[];
}

/** XAUTOCLAIM: [cursor, entries] (Redis 6.2) or [cursor, entries, deleted ids] (Redis ≥ 7). */
export function parseAutoClaimReply(value: unknown): AutoClaimReply {
  if (!Array.isArray(value) || value.length < 2) throw unexpected('XAUTOCLAIM', value);
  const deleted: unknown = value[2] ?? [];
  if (!Array.isArray(deleted)) throw unexpected('XAUTOCLAIM', value);
  return { nextCursor: str(value[0]), entries: parseEntries(value[1]), deletedIds: deleted.map(str) };
}

export interface PendingEntry {
  streamId: string;
  consumer: string;
  idleMs: number;
  deliveries: number;
}

/** XPENDING extended form: [[id, consumer, idle ms, delivery count], ...]. */
export function parsePendingReply(value: unknown): PendingEntry[] {
  if (!Array.isArray(value)) throw unexpected('XPENDING', value);
  return value.map((item: unknown) => {
    if (!Array.isArray(item) || item.length !== 4) throw unexpected('XPENDING', item);
    return { streamId: str(item[0]), consumer: str(item[1]), idleMs: Number(item[2]), deliveries: Number(item[3]) };
  });
}

/** XINFO CONSUMERS / XINFO GROUPS: a list of flat maps. */
export function parseInfoList(value: unknown, what: string): Array<Record<string, unknown>> {
  if (!Array.isArray(value)) throw unexpected(what, value);
  return value.map((item: unknown) => flatToRecord(item, what));
}

/**
 * The group (or its stream) is gone: Redis restarted without persistence, or someone deleted
 * the key. A read blocked at that moment fails with "UNBLOCKED the stream key no longer
 * exists" (Redis 7) or "NOGROUP ... no longer exists"; later commands with NOGROUP.
 */
export function isMissingGroupError(err: unknown): boolean {
  const message = errorMessage(err);
  return message.startsWith('NOGROUP') || /^UNBLOCKED .*no longer exists/.test(message);
}
