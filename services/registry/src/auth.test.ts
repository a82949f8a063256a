import { hasBearerToken } from './auth';

describe('hasBearerToken', () => {
  const token = 'correct-horse-battery-staple';
  it('accepts the right bearer token', () => {
    expect(hasBearerToken([`Bearer ${token}`], token)).toBe(true);
    expect(hasBearerToken(['bearer ' + token], token)).toBe(true);
    expect(hasBearerToken(['Basic abc', `Bearer ${token}`], token)).toBe(true);
  });
  it.each([[[]], [[`Bearer ${token}x`]], [[token]], [['Bearer ']], [[`Bearer ${token.slice(0, -1)}`]]])('refuses %j', (values) => {
    expect(hasBearerToken(values, token)).toBe(false);
  });
});
