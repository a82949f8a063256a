import { isIP } from 'node:net';
import { z } from 'zod';
import { bool, commonEnv, databaseEnv, int, list, parseEnv, parsedWith, secondsAsMs, secret, url } from '@dwld/config';
import { DEFAULT_QUALITY_OPTIONS, NOT_A_QUALITY, parseQualityOptions, QUALITY_FORMAT } from '@dwld/domain';

const telegramId = z.string().regex(/^\d{1,20}$/, 'is not a Telegram user id');
const phone = z.string().regex(/^\+?[\d\s()-]{5,24}$/, 'is not a phone number');
const quality = z.string().regex(QUALITY_FORMAT, NOT_A_QUALITY);
const folder = z.string().min(1).max(48, 'is longer than 48 characters');
/** A DNS server: an IPv4 address or a bracketed IPv6 one, with an optional port, or a bare IPv6 address. */
const dnsServer = z.string().refine((v) => {
  const match = /^(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([0-9a-fA-F:.]+)\])(?::(\d{1,5}))?$/.exec(v);
  if (match === null) return isIP(v) === 6;
  const port = match[3] === undefined ? 53 : Number(match[3]);
  return isIP(match[1] ?? match[2] ?? '') !== 0 && port >= 1 && port <= 65535;
}, 'must be an IP address, optionally with a port (1.1.1.1, 127.0.0.1:5353, [::1]:53)');
const BOT_TOKEN = /^\d{3,20}:[A-Za-z0-9_-]{20,}$/;

export const gatewayEnv = z
  .object({
    ...commonEnv(8081),
    // A person waits for the reply while a link is stored: a database that does not let one in soon goes the urgent way.
    ...databaseEnv({ connectTimeoutS: 3 }),
    TELEGRAM_BOT_TOKEN: z.string().regex(BOT_TOKEN, 'must look like 123456:ABC… (from @BotFather)'),
    TELEGRAM_API_ROOT: url(['http', 'https'], 'https://api.telegram.org'),
    /** Set: webhook mode (Telegram POSTs updates to this URL); unset: long polling. */
    WEBHOOK_URL: url(['https', 'http']).optional(),
    /** Checked against Telegram's X-Telegram-Bot-Api-Secret-Token header. */
    WEBHOOK_SECRET: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, 'must be 16-256 letters, digits, _ or -').optional(),
    ADMIN_IDS: list(telegramId),
    ALLOWED_IDS: list(telegramId),
    ALLOWED_PHONES: list(phone),
    DEFAULT_QUALITY: quality.optional().transform((v) => v ?? '1080'),
    QUALITY_OPTIONS: parsedWith(parseQualityOptions, DEFAULT_QUALITY_OPTIONS),
    FOLDERS: list(folder),
    DISPATCH_DELAY_S: secondsAsMs(60),
    MAX_LINKS_PER_MESSAGE: int({ min: 1, max: 100, default: 10 }),
    MAX_LINK_LENGTH: int({ min: 16, max: 8192, default: 2048 }),
    /** Links one person may send a minute; more get a polite refusal instead of filling the queue. */
    LINKS_PER_MINUTE: int({ min: 1, max: 100_000, default: 30 }),
    /**
     * Lets links to private, loopback and link-local hosts in: literal addresses, local names, and
     * names that resolve only to such addresses. Off: those are refused.
     */
    ALLOW_PRIVATE_HOSTS: bool(false),
    /** The DNS servers a link's host is resolved with (host[:port], comma-separated); unset: the system's. */
    DNS_SERVERS: list(dnsServer),
    /** The longest a link's host lookup may take; a name not resolved by then is not refused. */
    DNS_TIMEOUT_S: secondsAsMs(1.5, { min: 0.05, max: 30 }),
    /**
     * How long a host's lookup is remembered (a name that could not be resolved: at most 10 s);
     * for as long again it still answers while a fresh lookup runs.
     */
    DNS_CACHE_S: secondsAsMs(60, { max: 3600 }),
    DEFAULT_LANGUAGE: z.enum(['en', 'ru'], { message: 'must be en or ru' }).optional().transform((v) => v ?? 'en'),
    /** How long service replies (menus, notices, "taken" notes) stay before the bot deletes them; 0 keeps them. */
    SERVICE_MESSAGE_TTL_S: secondsAsMs(300),
    /** At most one message to admins per downloader this often about its health (a flapping one is summed up). */
    ADMIN_ALERT_INTERVAL_S: secondsAsMs(300, { min: 1 }),
    /** Bearer token for POST /links; unset disables the endpoint. */
    API_TOKEN: secret(16).optional(),
    TELEGRAM_MAX_PER_SECOND: int({ min: 1, max: 1000, default: 30 }),
    TELEGRAM_CHAT_INTERVAL_S: secondsAsMs(1),
    /** How long a message is retried (5xx, network errors, timeouts) before it is given up, counted from when it was queued. */
    TELEGRAM_GIVE_UP_AFTER_S: secondsAsMs(86_400, { min: 1, max: 30 * 24 * 3600 }),
    /** The longest wait between two tries of one call (the wait doubles from 1 s up to this). */
    TELEGRAM_RETRY_CAP_S: secondsAsMs(60, { min: 0.1, max: 3600 }),
    /** How long one Telegram call may take before it counts as failed (a long poll gets its own 50 s on top). */
    TELEGRAM_CALL_TIMEOUT_S: secondsAsMs(30, { min: 0.1, max: 600 }),
    /** Service replies (menus, notices) one chat may have waiting; beyond it the oldest is dropped. */
    TELEGRAM_CHAT_BACKLOG: int({ min: 1, max: 1000, default: 20 }),
    DOWNLOADER_DEADLINE_S: secondsAsMs(5, { min: 0.05 }),
    SHUTDOWN_TIMEOUT_S: secondsAsMs(15, { min: 1 }),
  })
  .superRefine((env, ctx) => {
    if (!env.QUALITY_OPTIONS.includes(env.DEFAULT_QUALITY)) {
      ctx.addIssue({ code: 'custom', path: ['DEFAULT_QUALITY'], message: 'must be one of QUALITY_OPTIONS' });
    }
    if (env.WEBHOOK_URL && !env.WEBHOOK_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['WEBHOOK_SECRET'], message: 'is required with WEBHOOK_URL' });
    }
  });

export type GatewayConfig = z.infer<typeof gatewayEnv>;

export function parseGatewayConfig(env: Record<string, string | undefined>): GatewayConfig {
  return parseEnv(gatewayEnv as unknown as z.ZodObject, env) as GatewayConfig;
}
