import { z } from 'zod';
import { errorMessage } from '@dwld/errors';

/** A configuration error: its message is one line naming the variable and what is wrong, never its value. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Parse env vars once against a zod object schema. Empty strings count as unset, so
 * `FOO=` in a compose file falls back to the default instead of failing on "".
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Env = process.env): z.infer<S> {
  const input: Env = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    input[key] = value === undefined || value.trim() === '' ? undefined : value.trim();
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = String(issue.path[0] ?? 'environment');
  const problem = input[variable] === undefined && issue.code === 'invalid_type' ? 'is required' : `is invalid: ${issue.message}`;
  throw new ConfigError(variable, problem);
}

/**
 * For composition roots: parse, or print the single line to stderr and exit 1.
 * A service that cannot read its configuration must not half-start.
 */
export function loadEnvOrExit<S extends z.ZodObject>(schema: S, env?: Env): z.infer<S>;
/** The same with a parser of its own (a schema plus checks across variables), which throws ConfigError. */
export function loadEnvOrExit<T>(parse: (env: Env) => T, env?: Env): T;
export function loadEnvOrExit(schemaOrParse: z.ZodObject | ((env: Env) => unknown), env: Env = process.env): unknown {
  try {
    return typeof schemaOrParse === 'function' ? schemaOrParse(env) : parseEnv(schemaOrParse, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

// ---- field helpers: each reads a string and returns a typed value -------------------------

const intPattern = /^-?\d+$/;

export function int(options: { min?: number; max?: number; default?: number } = {}) {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  const base = z
    .string()
    .regex(intPattern, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
  return options.default === undefined ? base : base.optional().transform((v) => v ?? options.default!);
}

export function port(defaultPort?: number) {
  return int({ min: 1, max: 65535, default: defaultPort });
}

/** A port that may be 0 (let the OS choose), for HTTP listeners in tests. */
export function listenPort(defaultPort: number) {
  return int({ min: 0, max: 65535, default: defaultPort });
}

/** Event consumer settings from the common environment (EVENT_RETRY_S, EVENT_MAX_DELIVERIES). */
export function eventConsumerDefaults(config: { EVENT_RETRY_S: number; EVENT_MAX_DELIVERIES: number }): { minIdleMs: number; reclaimIntervalMs: number; maxDeliveries: number } {
  return {
    minIdleMs: config.EVENT_RETRY_S,
    reclaimIntervalMs: Math.max(50, Math.min(30_000, Math.floor(config.EVENT_RETRY_S / 2))),
    maxDeliveries: config.EVENT_MAX_DELIVERIES,
  };
}

/** A number of seconds between min and max (env names end in _S), as written. */
function seconds({ min = 0, max = 7 * 24 * 3600 }: { min?: number; max?: number }) {
  return z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a number of seconds')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min} s`).max(max, `must be at most ${max} s`));
}

/** A duration in seconds (env names end in _S); returned in milliseconds for timers. */
export function secondsAsMs(defaultSeconds: number, options: { min?: number; max?: number } = {}) {
  return seconds(options)
    .optional()
    .transform((s) => Math.round((s ?? defaultSeconds) * 1000));
}

/** Like secondsAsMs, but undefined when unset (the caller derives a default from other settings). */
export function optionalSecondsAsMs(options: { min?: number; max?: number } = {}) {
  return seconds(options)
    .transform((s) => Math.round(s * 1000))
    .optional();
}

export function bool(defaultValue: boolean) {
  return z
    .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'], { message: 'must be true or false' })
    .optional()
    .transform((v) => (v === undefined ? defaultValue : ['1', 'true', 'yes', 'on'].includes(v)));
}

/** Comma-separated list; blanks dropped. */
export function list<T extends z.ZodType<unknown, string>>(item: T, defaultValue: Array<z.infer<T>> = []) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return defaultValue;
      const out: Array<z.infer<T>> = [];
      for (const part of v.split(',').map((p) => p.trim()).filter(Boolean)) {
        const parsed = item.safeParse(part);
        if (!parsed.success) {
          ctx.addIssue({ code: 'custom', message: `"${part}" ${parsed.error.issues[0]?.message ?? 'is invalid'}` });
          return z.NEVER;
        }
        out.push(parsed.data);
      }
      return out;
    });
}

export function url(protocols: string[], defaultValue?: string) {
  const base = z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    // Never echo the value: URLs carry passwords.
    { message: `must be a ${protocols.join(' or ')} URL` },
  );
  return defaultValue === undefined ? base : base.optional().transform((v) => v ?? defaultValue);
}

/**
 * A value read by a parser of the domain's own (which throws an Error saying what is wrong);
 * `defaultRaw` is parsed the same way when the variable is unset.
 */
export function parsedWith<T>(parse: (raw: string) => T, defaultRaw?: string) {
  return z
    .string()
    .optional()
    .transform((value, ctx) => {
      const raw = value ?? defaultRaw;
      if (raw === undefined) {
        ctx.addIssue({ code: 'invalid_type', expected: 'string', message: 'is required' });
        return z.NEVER;
      }
      try {
        return parse(raw);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: errorMessage(err) });
        return z.NEVER;
      }
    });
}

/** A secret: required length, and kept out of error messages. */
export function secret(minLength = 16) {
  return z.string().min(minLength, `must be at least ${minLength} characters`);
}

export const logLevel = z
  .enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'], { message: 'must be one of error, warn, info, debug' })
  .optional()
  .transform((v) => v ?? 'info');

/**
 * How a process talks to PostgreSQL when the network misbehaves (see @dwld/db DatabaseOptions;
 * 0 turns one off). The statement timeout is the server's, so it does nothing while packets are
 * held on the way: the query timeout (the client's own, a little longer) and keepalive cover that.
 */
export function databaseEnv(defaults: { connectTimeoutS?: number } = {}) {
  return {
    /** Connections this process opens to PostgreSQL at most (replicas × this must fit max_connections). */
    DATABASE_POOL_SIZE: int({ min: 1, max: 200, default: 10 }),
    /** Opening a connection (or waiting for a free one) fails after this long. */
    DATABASE_CONNECT_TIMEOUT_S: secondsAsMs(defaults.connectTimeoutS ?? 5, { min: 0.1, max: 600 }),
    /** The server cancels a statement running longer than this (statement_timeout). */
    DATABASE_STATEMENT_TIMEOUT_S: secondsAsMs(15, { max: 86_400 }),
    /** The client gives up on an answer after this long and drops the connection; unset: the statement timeout + 5 s. */
    DATABASE_QUERY_TIMEOUT_S: optionalSecondsAsMs({ max: 86_400 }),
    /** The server ends a session left idle inside a transaction this long, freeing its locks. */
    DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_S: secondsAsMs(30, { max: 86_400 }),
    /** TCP keepalive, both ways: a silent peer is probed after this much quiet. */
    DATABASE_KEEPALIVE_S: secondsAsMs(10, { max: 7200 }),
  };
}

type DatabaseEnv = z.infer<z.ZodObject<ReturnType<typeof databaseEnv>>>;

/** The database settings of a parsed environment, as @dwld/db's connectDatabase takes them. */
export function databaseOptions(config: DatabaseEnv): {
  poolSize: number;
  connectionTimeoutMs: number;
  statementTimeoutMs: number;
  queryTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
  keepAliveMs: number;
} {
  const statement = config.DATABASE_STATEMENT_TIMEOUT_S;
  return {
    poolSize: config.DATABASE_POOL_SIZE,
    connectionTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_S,
    statementTimeoutMs: statement,
    // Past the server's own timeout, so a slow statement is cancelled by the server (the
    // connection stays) before the client gives up on it (the connection goes).
    queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_S ?? (statement > 0 ? statement : 15_000) + 5_000,
    idleInTransactionTimeoutMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_S,
    keepAliveMs: config.DATABASE_KEEPALIVE_S,
  };
}

/** Env vars every service reads. */
export function commonEnv(defaultHttpPort: number) {
  return {
    NODE_ENV: z.enum(['production', 'development', 'test']).optional().transform((v) => v ?? 'development'),
    DATABASE_URL: url(['postgres', 'postgresql']),
    ...databaseEnv(),
    REDIS_URL: url(['redis', 'rediss'], 'redis://127.0.0.1:6379'),
    /** Run even though Redis's maxmemory-policy may evict keys (anything but noeviction): a full Redis then loses events and jobs. */
    REDIS_ALLOW_EVICTION: bool(false),
    LOG_LEVEL: logLevel,
    HTTP_PORT: listenPort(defaultHttpPort),
    HTTP_HOST: z.string().optional().transform((v) => v ?? '0.0.0.0'),
    STREAM_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, dots, dashes or underscores')
      .optional()
      .transform((v) => v ?? 'dwld'),
    /** An event whose handler failed is handed out again after this long… */
    EVENT_RETRY_S: secondsAsMs(60, { min: 0.1, max: 86_400 }),
    /** …and set aside on `<stream>:dead` after this many deliveries. */
    EVENT_MAX_DELIVERIES: int({ min: 1, max: 1000, default: 5 }),
    CONSUMER_NAME: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be 1-128 plain characters').optional(),
  };
}
