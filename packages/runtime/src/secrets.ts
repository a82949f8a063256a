import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented secret with the expected one in constant time. Both sides are hashed
 * first, so neither the content nor the length of the secret leaks through timing.
 */
export function secretsEqual(given: string, expected: string): boolean {
  return secretMatcher(expected)(given);
}

/**
 * secretsEqual against one expected secret, its digest taken once: for a check on every
 * request (the webhook's secret header).
 */
export function secretMatcher(expected: string): (given: string) => boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  const expectedDigest = digest(expected);
  return (given) => timingSafeEqual(digest(given), expectedDigest);
}

/** The token of an `Authorization: Bearer <token>` value, or undefined. */
export function bearerToken(header: string | Buffer | undefined): string | undefined {
  return /^Bearer (.+)$/i.exec(String(header ?? '').trim())?.[1];
}
