import { z } from 'zod';
import { bool, commonEnv, ConfigError, databaseOptions, eventConsumerDefaults, int, list, parseEnv, parsedWith, port, secondsAsMs, secret, url } from './index';

describe('parseEnv', () => {
  const schema = z.object({
    ...commonEnv(8080),
    GRPC_PORT: port(9999),
    POLL_S: secondsAsMs(5, { min: 0.1 }),
    IDS: list(z.string().regex(/^\d+$/, 'is not a numeric id')),
    FLAG: bool(false),
    COUNT: int({ min: 1, max: 10, default: 3 }),
  });
  const base = { DATABASE_URL: 'postgresql://u:p@localhost:5432/db' };

  it('applies defaults', () => {
    const cfg = parseEnv(schema, base);
    expect(cfg).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      LOG_LEVEL: 'info',
      HTTP_PORT: 8080,
      STREAM_PREFIX: 'dwld',
      DATABASE_POOL_SIZE: 10,
      EVENT_RETRY_S: 60_000,
      EVENT_MAX_DELIVERIES: 5,
      GRPC_PORT: 9999,
      POLL_S: 5000,
      IDS: [],
      FLAG: false,
      COUNT: 3,
      NODE_ENV: 'development',
    });
  });

  it('parses given values, treating blank as unset', () => {
    const cfg = parseEnv(schema, { ...base, GRPC_PORT: '50051', POLL_S: '0.5', IDS: '1, 22,,333', FLAG: 'yes', COUNT: ' ', HTTP_PORT: '0' });
    expect(cfg).toMatchObject({ GRPC_PORT: 50051, POLL_S: 500, IDS: ['1', '22', '333'], FLAG: true, COUNT: 3, HTTP_PORT: 0 });
  });

  it.each([
    [{}, 'DATABASE_URL is required'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL is invalid'],
    [{ ...base, GRPC_PORT: '70000' }, 'GRPC_PORT is invalid: must be at most 65535'],
    [{ ...base, GRPC_PORT: 'abc' }, 'GRPC_PORT is invalid: must be a whole number'],
    [{ ...base, POLL_S: '0.01' }, 'POLL_S is invalid: must be at least 0.1 s'],
    [{ ...base, POLL_S: '-1' }, 'POLL_S is invalid: must be a number of seconds'],
    [{ ...base, IDS: '1,x' }, 'IDS is invalid: "x" is not a numeric id'],
    [{ ...base, FLAG: 'maybe' }, 'FLAG is invalid: must be true or false'],
    [{ ...base, STREAM_PREFIX: 'a b' }, 'STREAM_PREFIX is invalid'],
    [{ ...base, LOG_LEVEL: 'loud' }, 'LOG_LEVEL is invalid'],
    [{ ...base, DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE is invalid: must be at least 1'],
    [{ ...base, EVENT_MAX_DELIVERIES: '0' }, 'EVENT_MAX_DELIVERIES is invalid: must be at least 1'],
  ])('rejects %j with one line naming the variable', (env, expected) => {
    let caught: unknown;
    try {
      parseEnv(schema, env);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as Error).message;
    expect(message).toContain(expected);
    expect(message).not.toContain('\n');
  });

  it('turns EVENT_RETRY_S and EVENT_MAX_DELIVERIES into consumer settings (reclaim checks twice per retry time, at most every 30 s)', () => {
    expect(eventConsumerDefaults(parseEnv(schema, base))).toEqual({ minIdleMs: 60_000, reclaimIntervalMs: 30_000, maxDeliveries: 5 });
    expect(eventConsumerDefaults(parseEnv(schema, { ...base, EVENT_RETRY_S: '2', EVENT_MAX_DELIVERIES: '3' }))).toEqual({ minIdleMs: 2_000, reclaimIntervalMs: 1_000, maxDeliveries: 3 });
  });

  it('never echoes the value of a bad variable', () => {
    const s = z.object({ DATABASE_URL: url(['postgresql']), TOKEN: secret(16) });
    expect(() => parseEnv(s, { DATABASE_URL: 'mysql://root:hunter2@db/x', TOKEN: 'x' })).toThrow(/DATABASE_URL/);
    try {
      parseEnv(s, { DATABASE_URL: 'mysql://root:hunter2@db/x', TOKEN: 'short' });
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
    try {
      parseEnv(s, { DATABASE_URL: 'postgresql://db/x', TOKEN: 'short-secret' });
    } catch (err) {
      expect((err as Error).message).toBe('Invalid configuration: TOKEN is invalid: must be at least 16 characters');
    }
  });
});

describe('parsedWith', () => {
  const parseList = (raw: string) => {
    const parts = raw.split(',');
    if (parts.some((p) => !/^\d+$/.test(p))) throw new Error('must be numbers separated by commas');
    return parts.map(Number);
  };
  const s = z.object({ SIZES: parsedWith(parseList, '1,2') });
  it('parses the value, or the default when unset', () => {
    expect(parseEnv(s, { SIZES: '5,6' }).SIZES).toEqual([5, 6]);
    expect(parseEnv(s, {}).SIZES).toEqual([1, 2]);
  });
  it('reports the parser’s words in one line', () => {
    expect(() => parseEnv(s, { SIZES: '5,x' })).toThrow('Invalid configuration: SIZES is invalid: must be numbers separated by commas');
  });
});

describe('database settings', () => {
  const schema = z.object(commonEnv(8080));
  const base = { DATABASE_URL: 'postgresql://u:p@localhost:5432/db' };

  it('has timeouts and keepalive by default, the client waiting a little longer than the server', () => {
    expect(databaseOptions(parseEnv(schema, base))).toEqual({
      poolSize: 10,
      connectionTimeoutMs: 5_000,
      statementTimeoutMs: 15_000,
      queryTimeoutMs: 20_000,
      idleInTransactionTimeoutMs: 30_000,
      keepAliveMs: 10_000,
    });
  });

  it('follows the statement timeout unless the query timeout is given, and takes 0 for off', () => {
    expect(databaseOptions(parseEnv(schema, { ...base, DATABASE_STATEMENT_TIMEOUT_S: '60' }))).toMatchObject({ statementTimeoutMs: 60_000, queryTimeoutMs: 65_000 });
    expect(databaseOptions(parseEnv(schema, { ...base, DATABASE_STATEMENT_TIMEOUT_S: '0' }))).toMatchObject({ statementTimeoutMs: 0, queryTimeoutMs: 20_000 });
    expect(databaseOptions(parseEnv(schema, { ...base, DATABASE_QUERY_TIMEOUT_S: '2.5', DATABASE_KEEPALIVE_S: '0' }))).toMatchObject({ queryTimeoutMs: 2_500, keepAliveMs: 0 });
    expect(() => parseEnv(schema, { ...base, DATABASE_QUERY_TIMEOUT_S: 'soon' })).toThrow('DATABASE_QUERY_TIMEOUT_S is invalid: must be a number of seconds');
    expect(() => parseEnv(schema, { ...base, DATABASE_CONNECT_TIMEOUT_S: '0' })).toThrow('DATABASE_CONNECT_TIMEOUT_S is invalid: must be at least 0.1 s');
  });
});
