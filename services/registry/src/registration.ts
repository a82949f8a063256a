import { isIP } from 'node:net';
import type { RegisterDownloaderRequest } from '@dwld/contract';
import { isHostname, normaliseRootLinks, type PatternNote } from '@dwld/domain';

/** A registration that passed validation, normalised (name trimmed, hostnames lower-case, patterns normalised and de-duplicated). */
export interface Registration {
  name: string;
  host: string;
  port: number;
  patterns: string[];
}

export const MAX_NAME_LENGTH = 128;
/** Raw allowedRootLinks items at most (empty ones included). */
export const MAX_PATTERNS = 256;
/**
 * Bytes the patterns kept may come to together, by default (MAX_PATTERN_BYTES). A fleet's
 * downloaders list a few dozen sites; every scheduler holds and routes with every row, so a
 * row of thousands of long junk patterns costs each of them.
 */
export const DEFAULT_MAX_PATTERN_BYTES = 4096;
const PATTERNS_AT_A_TIME = 16;

export interface RegistrationContext {
  /**
   * The IP address the call came from (see peerAddress). Taken as the host when serverHost is
   * empty or an address meaning "all interfaces" (0.0.0.0, ::), as the deployed downloaders send
   * when they listen on every interface.
   */
  peerAddress?: string;
  /** The patterns kept may come to this many bytes together (UTF-8); default DEFAULT_MAX_PATTERN_BYTES. */
  maxPatternBytes?: number;
}

export type ValidationResult =
  | {
      ok: true;
      registration: Registration;
      /** Patterns dropped or rewritten on the way (empty when each was kept as sent, give or take spaces and case). */
      notes: PatternNote[];
      /** True when the host is the caller's address because serverHost was empty or 0.0.0.0/::. */
      hostFromPeer: boolean;
    }
  | { ok: false; reason: string };

/**
 * Checks a RegisterDownloader request as the deployed downloaders send it (see
 * normaliseRootLinks): the name is trimmed; patterns are trimmed, URLs stand for their host,
 * empty and unusable ones are dropped (and noted); an empty or all-interfaces host stands for
 * the caller's address. Refused only when nothing usable is left (no name, no pattern, no
 * address) or when the patterns kept are more than a downloader needs (maxPatternBytes). The reason names the field and the rule, never echoes the input, so it is safe to
 * return to the caller and to log.
 */
export function validateRegistration(request: Partial<RegisterDownloaderRequest>, context: RegistrationContext = {}): ValidationResult {
  const fail = (reason: string): ValidationResult => ({ ok: false, reason });

  const name = typeof request.serverName === 'string' ? request.serverName.trim() : '';
  if (name.length === 0) return fail('serverName is required');
  if (name.length > MAX_NAME_LENGTH) return fail(`serverName must be at most ${MAX_NAME_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return fail('serverName must not contain control characters');

  const given = typeof request.serverHost === 'string' ? request.serverHost.trim().toLowerCase() : '';
  let host: string;
  let hostFromPeer = false;
  if (meansAnyAddress(given)) {
    if (context.peerAddress === undefined) return fail('serverHost is empty or 0.0.0.0 and the address the call came from is unknown');
    host = context.peerAddress;
    hostFromPeer = true;
  } else {
    const bare = given.replace(/^\[(.*)\]$/, '$1');
    if (!isHostname(bare) && isIP(bare) === 0) return fail('serverHost must be a host name or an IP address');
    host = bare;
  }

  const port = request.serverPort;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return fail('serverPort must be between 1 and 65535');

  const raw = Array.isArray(request.allowedRootLinks) ? request.allowedRootLinks : [];
  if (raw.length > MAX_PATTERNS) return fail(`allowedRootLinks must hold at most ${MAX_PATTERNS} patterns`);
  const maxPatternBytes = context.maxPatternBytes ?? DEFAULT_MAX_PATTERN_BYTES;
  // A few patterns at a time, stopping once over the bound: a list of junk costs the CPU of the
  // bound's worth of patterns, not of all 256.
  const patterns: string[] = [];
  const notes: PatternNote[] = [];
  let bytes = 0;
  for (let from = 0; from < raw.length; from += PATTERNS_AT_A_TIME) {
    const part = normaliseRootLinks(raw.slice(from, from + PATTERNS_AT_A_TIME));
    notes.push(...part.notes);
    for (const pattern of part.patterns) {
      if (patterns.includes(pattern)) continue;
      patterns.push(pattern);
      bytes += patternBytes([pattern]);
    }
    if (bytes > maxPatternBytes) return fail(`allowedRootLinks must come to at most ${maxPatternBytes} bytes of patterns (after clean-up)`);
  }
  if (patterns.length === 0) return fail('allowedRootLinks holds no usable pattern: a host name (like youtube.com), an IP address, or one of *, any, all');

  return { ok: true, registration: { name, host, port, patterns }, notes, hostFromPeer };
}

/** The bytes a list of patterns takes (UTF-8), as the rule on MAX_PATTERN_BYTES counts them. */
export function patternBytes(patterns: readonly string[]): number {
  return patterns.reduce((sum, pattern) => sum + Buffer.byteLength(pattern, 'utf8'), 0);
}

/** '', 0.0.0.0, :: or [::] (any spelling of the unspecified IPv6 address): "wherever I am". */
function meansAnyAddress(host: string): boolean {
  if (host === '') return true;
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) === 4) return bare === '0.0.0.0';
  return isIP(bare) === 6 && /^[0:]+$/.test(bare);
}

/**
 * The IP address in grpc-js's `call.getPeer()`: `127.0.0.1:54321`, `::1:54321` (an IPv6
 * address and port without brackets), `[::1]:54321`, with or without an `ipv4:`/`ipv6:`
 * prefix; an IPv4-mapped `::ffff:10.0.0.5` is given as `10.0.0.5`. Undefined when there is no
 * IP address in it (`unknown`, a Unix socket path).
 */
export function peerAddress(peer: string): string | undefined {
  let text = peer.trim().replace(/^ipv[46]:/i, '');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) text = bracketed[1]!;
  else {
    // grpc-js appends ":port" whenever the socket has one; take it off when what is left is an address.
    const withPort = /^(.*):(\d{1,5})$/.exec(text);
    if (withPort && isIP(withPort[1]!) !== 0) text = withPort[1]!;
  }
  if (isIP(text) === 0) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  return (mapped ? mapped[1]! : text).toLowerCase();
}
