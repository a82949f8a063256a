import { bearerToken, secretMatcher, secretsEqual } from './secrets';

describe('secretsEqual / bearerToken', () => {
  it('compares exactly', () => {
    expect(secretsEqual('abc-123', 'abc-123')).toBe(true);
    expect(secretsEqual('abc-124', 'abc-123')).toBe(false);
    expect(secretsEqual('abc-123x', 'abc-123')).toBe(false);
    expect(secretsEqual('', 'abc-123')).toBe(false);
  });
  it('matches against one secret many times', () => {
    const matches = secretMatcher('abc-123');
    expect(matches('abc-123')).toBe(true);
    expect(matches('abc-124')).toBe(false);
    expect(matches('abc-123x')).toBe(false);
    expect(matches('')).toBe(false);
    expect(matches('abc-123')).toBe(true);
    expect(matches('x'.repeat(10_000))).toBe(false);
    // Longer than the fixed width: still compared exactly.
    const long = 'k'.repeat(300);
    expect(secretMatcher(long)(long)).toBe(true);
    expect(secretMatcher(long)(`${long.slice(1)}j`)).toBe(false);
    expect(secretMatcher(long)(long.slice(1))).toBe(false);
    // Multi-byte characters count by their bytes.
    expect(secretMatcher('ключ-секрет')('ключ-секрет')).toBe(true);
    expect(secretMatcher('ключ-секрет')('ключ-секреТ')).toBe(false);
  });
  it('reads a bearer token', () => {
    expect(bearerToken('Bearer t0k')).toBe('t0k');
    expect(bearerToken('bearer t0k ')).toBe('t0k');
    expect(bearerToken('Basic t0k')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
