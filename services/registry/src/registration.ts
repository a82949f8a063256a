import { isIP } from 'node:net';
import type { RegisterDownloaderRequest } from '@dwld/contract';

/** A registration that passed validation, normalised (hostnames lower-case, patterns de-duplicated). */
export interface Registration {
  name: string;
  host: string;
  port: number;
  patterns: string[];
}

export const MAX_NAME_LENGTH = 128;
export const MAX_PATTERNS = 256;
/** Patterns that let a downloader take links from any host. */
export const WILDCARD_PATTERNS: ReadonlySet<string> = new Set(['*', 'any', 'all']);

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** An RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 253 characters at most. */
export function isHostname(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  return value.split('.').every((label) => LABEL.test(label));
}

export type ValidationResult = { ok: true; registration: Registration } | { ok: false; reason: string };

/**
 * Checks a RegisterDownloader request. The reason names the field and the rule, never echoes
 * long input back, so it is safe to return to the caller and to log.
 */
export function validateRegistration(request: Partial<RegisterDownloaderRequest>): ValidationResult {
  const fail = (reason: string): ValidationResult => ({ ok: false, reason });

  const name = typeof request.serverName === 'string' ? request.serverName : '';
  if (name.trim().length === 0) return fail('serverName is required');
  if (name.length > MAX_NAME_LENGTH) return fail(`serverName must be at most ${MAX_NAME_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name) || name !== name.trim()) return fail('serverName must not contain control characters or surrounding spaces');

  const rawHost = typeof request.serverHost === 'string' ? request.serverHost : '';
  if (rawHost.length === 0) return fail('serverHost is required');
  const host = rawHost.toLowerCase();
  if (!isHostname(host) && isIP(host.replace(/^\[|\]$/g, '')) === 0) return fail('serverHost must be a host name or an IP address');

  const port = request.serverPort;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return fail('serverPort must be between 1 and 65535');

  const rawPatterns = Array.isArray(request.allowedRootLinks) ? request.allowedRootLinks : [];
  if (rawPatterns.length === 0) return fail('allowedRootLinks must hold at least one pattern');
  if (rawPatterns.length > MAX_PATTERNS) return fail(`allowedRootLinks must hold at most ${MAX_PATTERNS} patterns`);
  const patterns: string[] = [];
  for (const [index, raw] of rawPatterns.entries()) {
    const pattern = typeof raw === 'string' ? raw.toLowerCase() : '';
    if (!WILDCARD_PATTERNS.has(pattern) && !isHostname(pattern)) {
      return fail(`allowedRootLinks[${index}] must be a host name (like youtube.com) or one of *, any, all`);
    }
    if (!patterns.includes(pattern)) patterns.push(pattern);
  }

  return { ok: true, registration: { name, host: host.replace(/^\[|\]$/g, ''), port, patterns } };
}
