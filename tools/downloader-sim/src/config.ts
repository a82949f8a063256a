import { z } from 'zod';
import { int, list, listenPort, logLevel, parseEnv, secondsAsMs, secret } from '@dwld/config';
import { isHostname, WILDCARD_PATTERNS } from '@dwld/domain';
import { MODES } from './mode';

// The simulated downloader has no database and no Redis, so it does not use commonEnv.

export const FLAVOURS = ['dwld', 'go'] as const;

/** host:port, the host a name, an IPv4 address or a bracketed IPv6 address. */
const REGISTRY_ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export const simEnv = z.object({
  NODE_ENV: z.enum(['production', 'development', 'test']).optional().transform((v) => v ?? 'development'),
  LOG_LEVEL: logLevel,
  /** The name it registers under; the registry upserts by name. */
  SIM_NAME: z
    .string()
    .max(128, 'must be at most 128 characters')
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters'),
  GRPC_HOST: z.string().optional().transform((v) => v ?? '0.0.0.0'),
  /** 0: any free port; the bound port is the one registered. */
  GRPC_PORT: listenPort(0),
  /**
   * `dwld` (default): this project's simulation. `go`: behaves as the deployed Go downloader
   * (@dwld/go-downloader): its answers and statuses, one registration at start with the raw
   * ASSIGN string, never again.
   */
  FLAVOUR: z.enum(FLAVOURS, { message: `must be one of ${FLAVOURS.join(', ')}` }).optional().transform((v) => v ?? 'dwld'),
  /** The host the registry (and so the scheduler) should call it at; unset, see advertisedHost(). */
  ADVERTISE_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or an IP address')
    .optional(),
  /** FLAVOUR=go: the Go config's `assign`, split on "," and sent with nothing trimmed. */
  ASSIGN: z.string().max(10_000, 'must be at most 10000 characters').optional().transform((v) => v ?? 'all'),
  REGISTRY_ADDRESS: z
    .string()
    .refine((v) => {
      const match = REGISTRY_ADDRESS.exec(v);
      return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
    }, 'must be host:port')
    .optional()
    .transform((v) => v ?? '127.0.0.1:9999'),
  /** Sent as `authorization: Bearer <token>` when set (the registry's own rule: 16+ characters). */
  REGISTRATION_TOKEN: secret(16).optional(),
  PATTERNS: list(
    z
      .string()
      .transform((v) => v.toLowerCase())
      .refine((v) => WILDCARD_PATTERNS.has(v) || isHostname(v), 'must be a host name (like youtube.com) or one of *, any, all'),
    ['*'],
  ).refine((patterns) => patterns.length > 0, 'must list at least one pattern'),
  REGISTER_INTERVAL_S: secondsAsMs(30, { min: 0.05 }),
  /** How long one simulated download takes. */
  DOWNLOAD_SECONDS: secondsAsMs(10, { min: 0 }),
  DOWNLOAD_SIZE_MB: int({ min: 1, max: 1_000_000, default: 100 }),
  CONCURRENT_DOWNLOADS: int({ min: 1, max: 1000, default: 2 }),
  /** How long mode late holds a SetToQueue answer after taking the link (past the caller's deadline, it goes nowhere). */
  LATE_REPLY_S: secondsAsMs(10, { min: 0.05, max: 3600 }),
  MODE: z.enum(MODES, { message: `must be one of ${MODES.join(', ')}` }).optional().transform((v) => v ?? 'ok'),
  HTTP_HOST: z.string().optional().transform((v) => v ?? '0.0.0.0'),
  HTTP_PORT: listenPort(8090),
  SHUTDOWN_TIMEOUT_S: secondsAsMs(10, { min: 1 }),
});

export type SimConfig = z.infer<typeof simEnv>;

/**
 * The host it registers: ADVERTISE_HOST, else 127.0.0.1; with FLAVOUR=go, else empty (sent as
 * is, as a Go downloader sends its listen host, and the registry takes the caller's address).
 */
export function advertisedHost(config: Pick<SimConfig, 'ADVERTISE_HOST' | 'FLAVOUR'>): string {
  return config.ADVERTISE_HOST ?? (config.FLAVOUR === 'go' ? '' : '127.0.0.1');
}

export function parseSimConfig(env: Record<string, string | undefined>): SimConfig {
  return parseEnv(simEnv, env);
}
