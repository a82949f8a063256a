import { bearerToken, secretsEqual } from '@dwld/runtime';

/** Whether any `authorization` metadata value carries the expected bearer token (compared in constant time). */
export function hasBearerToken(authorization: ReadonlyArray<string | Buffer>, token: string): boolean {
  let found = false;
  // No early return: every value is compared.
  for (const value of authorization) {
    const given = bearerToken(value);
    if (given !== undefined && secretsEqual(given, token)) found = true;
  }
  return found;
}
