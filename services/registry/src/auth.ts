import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether an `authorization` metadata value carries the expected bearer token. Compared in
 * constant time over digests, so neither the token's content nor its length leaks by timing.
 */
export function hasBearerToken(authorization: ReadonlyArray<string | Buffer>, token: string): boolean {
  const expected = createHash('sha256').update(token).digest();
  let found = false;
  for (const value of authorization) {
    const match = /^Bearer (.+)$/i.exec(String(value).trim());
    if (!match) continue;
    const given = createHash('sha256').update(match[1]!).digest();
    // No early return: every value is compared.
    if (timingSafeEqual(given, expected)) found = true;
  }
  return found;
}
