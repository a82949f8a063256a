import { timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented secret with the expected one in constant time: neither the content nor
 * the length of the secret leaks through timing (see secretMatcher).
 */
export function secretsEqual(given: string, expected: string): boolean {
  return secretMatcher(expected)(given);
}

/** Secrets up to this many bytes take the same time to compare, whatever their length. */
const MATCHER_MIN_WIDTH = 256;

/**
 * A check against one expected secret, for every request (the webhook's secret header): the
 * expected side is laid out once. Both sides are laid out in a buffer of one fixed size
 * (a length, then the bytes) and compared whole, so the time depends on neither the content
 * nor the length of the secret; a presented value longer than that buffer is refused without
 * looking at the secret at all.
 */
export function secretMatcher(expected: string): (given: string) => boolean {
  const width = 4 + Math.max(MATCHER_MIN_WIDTH, Buffer.byteLength(expected));
  const laidOut = (value: string): Buffer | null => {
    const bytes = Buffer.byteLength(value);
    if (4 + bytes > width) return null;
    const buffer = Buffer.alloc(width);
    buffer.writeUInt32BE(bytes, 0);
    buffer.write(value, 4);
    return buffer;
  };
  const expectedLaidOut = laidOut(expected)!;
  return (given) => {
    const givenLaidOut = laidOut(given);
    return givenLaidOut !== null && timingSafeEqual(givenLaidOut, expectedLaidOut);
  };
}

/** The token of an `Authorization: Bearer <token>` value, or undefined. */
export function bearerToken(header: string | Buffer | undefined): string | undefined {
  return /^Bearer (.+)$/i.exec(String(header ?? '').trim())?.[1];
}
