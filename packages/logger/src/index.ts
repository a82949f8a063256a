import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  service: string;
  level?: string;
  /** JSON lines in production, coloured text otherwise. */
  json?: boolean;
  /** Exact secret values (bot token, API token, registration token) to scrub from every line. */
  secrets?: Array<string | undefined>;
  /** Where lines go; defaults to stdout. Tests pass a stream to read every line back. */
  stream?: NodeJS.WritableStream;
}

const REDACTED = '[redacted]';
// Telegram bot tokens look like 123456789:AA...; they also appear inside Bot API URLs
// (/bot<token>/method), which HTTP client errors like to quote.
const TELEGRAM_TOKEN = /(?<!\d)\d{5,12}:[A-Za-z0-9_-]{30,}/g;
const SECRET_KEYS = /^(authorization|token|password|secret|api[_-]?token|bot[_-]?token|registration[_-]?token)$/i;

export function redactString(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out.replace(TELEGRAM_TOKEN, REDACTED);
}

function redactValue(value: unknown, secrets: readonly string[], seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactString(value, secrets);
  if (value instanceof Error) {
    return {
      name: value.name,
      message: redactString(value.message, secrets),
      stack: value.stack ? redactString(value.stack, secrets) : undefined,
      ...(redactValue({ ...value }, secrets, seen) as object),
    };
  }
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, secrets, seen));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEYS.test(key) && v != null && v !== '' ? REDACTED : redactValue(v, secrets, seen);
  }
  return out;
}

/** A winston format that scrubs known secrets and token-shaped strings from a whole log entry. */
export function redactFormat(secretValues: Array<string | undefined>): winston.Logform.Format {
  // Very short "secrets" would redact ordinary words; config validation enforces a minimum length.
  const secrets = secretValues.filter((s): s is string => typeof s === 'string' && s.length >= 4);
  return winston.format((info) => {
    const seen = new WeakSet<object>();
    for (const key of Object.keys(info)) {
      const value = (info as Record<string, unknown>)[key];
      (info as Record<string, unknown>)[key] =
        SECRET_KEYS.test(key) && value != null && value !== '' ? REDACTED : redactValue(value, secrets, seen);
    }
    return info;
  })();
}

export function createLogger(options: LoggerOptions): Logger {
  const { service, level = 'info', json = process.env.NODE_ENV === 'production', secrets = [] } = options;
  const format = json
    ? winston.format.combine(redactFormat(secrets), winston.format.timestamp(), winston.format.json())
    : winston.format.combine(
        redactFormat(secrets),
        winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
        winston.format.colorize(),
        winston.format.printf(({ timestamp, level: lvl, message, service: svc, component, ...rest }) => {
          const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
          const where = component ? `${String(svc)}/${String(component)}` : String(svc);
          return `${String(timestamp)} ${lvl} [${where}] ${String(message)}${extra}`;
        }),
      );
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  return skipDisabledLevels(winston.createLogger({ level, defaultMeta: { service }, format, transports: [transport] }));
}

/**
 * winston builds, scrubs and formats every entry before its transport drops those below the
 * level: per-update info lines cost a busy gateway real CPU at LOG_LEVEL=warn. A level method
 * of a disabled level now returns at once. The methods live on a class made for this logger
 * alone, which its children share.
 */
function skipDisabledLevels(logger: Logger): Logger {
  const methods = Object.getPrototypeOf(logger) as Record<string, (...args: unknown[]) => Logger>;
  for (const level of Object.keys(logger.levels)) {
    const write = methods[level];
    if (typeof write !== 'function') continue;
    // Like winston's own methods, unbound calls (`.catch(logger.warn)`) use the logger itself.
    methods[level] = function (this: Logger | undefined, ...args: unknown[]) {
      const self = this ?? logger;
      return self.isLevelEnabled(level) ? write.apply(self, args) : self;
    };
  }
  return logger;
}

/** A logger that drops everything: for unit tests of code that takes a logger. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}

/**
 * A service's logger as its composition root makes it: the level from LOG_LEVEL, JSON lines in
 * production, and the secrets of its config scrubbed.
 */
export function createServiceLogger(service: string, config: { LOG_LEVEL: string; NODE_ENV: string }, secrets: Array<string | undefined>): Logger {
  return createLogger({ service, level: config.LOG_LEVEL, json: config.NODE_ENV === 'production', secrets });
}
