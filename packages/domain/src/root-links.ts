import { isIP } from 'node:net';
import { WILDCARD_PATTERNS } from './routing';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** An RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 253 characters at most. */
export function isHostname(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  return value.split('.').every((label) => LABEL.test(label));
}

/** What became of one pattern a downloader sent that was not kept exactly as sent. */
export interface PatternNote {
  /** The pattern as sent, cut to 80 characters (it is logged and printed). */
  given: string;
  /** What it became; absent when it was dropped. */
  kept?: string;
  /** Why, in a few words. */
  why: string;
}

export interface NormalisedRootLinks {
  /** The usable patterns, lower-case, without duplicates, in the order first sent. */
  patterns: string[];
  /** Every pattern dropped or rewritten (a pattern only trimmed of spaces or lower-cased is not noted). */
  notes: PatternNote[];
}

/**
 * The host patterns of a downloader's `allowedRootLinks` as the deployed downloaders send them:
 * their config string split on "," with nothing trimmed ("youtube.com, rutube.ru," arrives as
 * ["youtube.com", " rutube.ru", ""]). Each pattern is trimmed and lower-cased; empty ones are
 * dropped; a URL (`https://www.youtube.com/watch`) or a host with a port or path stands for its
 * host; a leading `*.` or `.` and a trailing `.` are taken off; `*`, `any` and `all` stay
 * wildcards; an IP address stays itself. Anything else left (spaces inside, symbols) is dropped.
 * The Go bot matched hosts exactly, so `www.youtube.com` is kept as it is, not widened.
 * Pure: the registry and the Go importer both call it.
 */
export function normaliseRootLinks(raw: readonly unknown[]): NormalisedRootLinks {
  const patterns: string[] = [];
  const notes: PatternNote[] = [];
  for (const item of raw) {
    const given = typeof item === 'string' ? item : String(item);
    const shown = given.length > 80 ? `${given.slice(0, 79)}…` : given;
    if (typeof item !== 'string') {
      notes.push({ given: shown, why: 'not text' });
      continue;
    }
    const result = normaliseOne(item);
    if (!result.ok) {
      notes.push({ given: shown, why: result.why });
      continue;
    }
    if (result.rewritten) notes.push({ given: shown, kept: result.pattern, why: result.rewritten });
    if (!patterns.includes(result.pattern)) patterns.push(result.pattern);
  }
  return { patterns, notes };
}

type OneResult = { ok: true; pattern: string; rewritten?: string } | { ok: false; why: string };

function normaliseOne(item: string): OneResult {
  const trimmed = item.trim().toLowerCase();
  if (trimmed === '') return { ok: false, why: 'empty' };
  if (WILDCARD_PATTERNS.has(trimmed)) return { ok: true, pattern: trimmed };
  let candidate = trimmed;
  let rewritten: string | undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(candidate) || /[/?#]/.test(candidate) || /^[^:]+:\d+$/.test(candidate) || /^\[.*\](:\d+)?$/.test(candidate)) {
    const host = hostOfUrl(candidate.includes('://') ? candidate : `http://${candidate}`);
    if (host === null) return { ok: false, why: 'not a host name, an address or a wildcard' };
    candidate = host;
    rewritten = 'the host of a URL';
  }
  if (candidate.startsWith('*.') || (candidate.startsWith('.') && candidate.length > 1)) {
    candidate = candidate.replace(/^\*?\./, '');
    rewritten = rewritten ?? 'a leading "*." or "." taken off (a domain takes its subdomains)';
  }
  if (candidate.endsWith('.') && candidate.length > 1) {
    candidate = candidate.slice(0, -1);
    rewritten = rewritten ?? 'the trailing dot taken off';
  }
  if (isIP(candidate) !== 0) return { ok: true, pattern: candidate, ...(rewritten ? { rewritten } : {}) };
  if (!isHostname(candidate)) {
    // An international name (кц.рф) is kept as Telegram links carry it: in its ASCII form.
    const ascii = hostOfUrl(`http://${candidate}`);
    if (ascii === null || !isHostname(ascii)) return { ok: false, why: 'not a host name, an address or a wildcard' };
    return { ok: true, pattern: ascii, rewritten: rewritten ?? 'written in its ASCII (punycode) form' };
  }
  return { ok: true, pattern: candidate, ...(rewritten ? { rewritten } : {}) };
}

function hostOfUrl(text: string): string | null {
  try {
    const host = new URL(text).hostname.toLowerCase();
    if (host === '') return null;
    const bare = host.replace(/^\[|\]$/g, '');
    if (isIP(bare) !== 0) return bare;
    return host.endsWith('.') ? host.slice(0, -1) : host;
  } catch {
    return null;
  }
}

/** How a list of notes reads in one log line or summary: `" rutube.ru": …; "": empty`. */
export function describePatternNotes(notes: readonly PatternNote[]): string {
  return notes.map((n) => `${JSON.stringify(n.given)} ${n.kept !== undefined ? `→ ${n.kept} (${n.why})` : `dropped (${n.why})`}`).join('; ');
}
