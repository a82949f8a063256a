import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented secret with the expected one in constant time. Both sides are hashed
 * first, so neither the content nor the length of the secret leaks through timing.
 */
export function secretsEqual(given: string, expected: string): boolean {
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}

/** The token of an `Authorization: Bearer <token>` value, or undefined. */
export function bearerToken(header: string | Buffer | undefined): string | undefined {
  return /^Bearer (.+)$/i.exec(String(header ?? '').trim())?.[1];
}
