import { z } from 'zod';
import { commonEnv, int, listenPort, parseEnv, secondsAsMs, secret } from '@dwld/config';
import { DEFAULT_MAX_PATTERN_BYTES } from './registration';

export const registryEnv = z.object({
  ...commonEnv(8082),
  GRPC_HOST: z.string().optional().transform((v) => v ?? '0.0.0.0'),
  GRPC_PORT: listenPort(9999),
  /** Unset: any caller may register (the deployed downloaders send no token). */
  REGISTRATION_TOKEN: secret(16).optional(),
  HEALTH_INTERVAL_S: secondsAsMs(5, { min: 0.05 }),
  UNHEALTHY_AFTER_S: secondsAsMs(30, { min: 0 }),
  DOWNLOADER_DEADLINE_S: secondsAsMs(5, { min: 0.05 }),
  SHUTDOWN_TIMEOUT_S: secondsAsMs(15, { min: 1 }),
  /** Registrations being stored at once; more are answered RESOURCE_EXHAUSTED at once, never queued. */
  MAX_REGISTRATIONS_IN_FLIGHT: int({ min: 1, max: 10_000, default: 32 }),
  /**
   * Per caller address (an IPv6 caller's /64): registrations a minute on average, and at once.
   * The deployed Go downloaders register once at start; the simulated one every
   * REGISTER_INTERVAL_S (30 s): a hundred of them behind one address stay far below.
   */
  REGISTRATIONS_PER_PEER_PER_MINUTE: int({ min: 1, max: 1_000_000, default: 300 }),
  REGISTRATION_BURST_PER_PEER: int({ min: 1, max: 1_000_000, default: 100 }),
  /** Downloaders the table may hold: a new name beyond it is refused (names already there may register again). */
  MAX_DOWNLOADERS: int({ min: 1, max: 100_000, default: 200 }),
  /** Bytes a downloader's patterns may come to together (after clean-up). */
  MAX_PATTERN_BYTES: int({ min: 256, max: 1_000_000, default: DEFAULT_MAX_PATTERN_BYTES }),
  /** A downloader neither registering nor answering health checks this long is deleted (and downloader.changed 'forgotten' published). */
  FORGET_DOWNLOADER_AFTER_S: secondsAsMs(7 * 24 * 3600, { min: 1, max: 365 * 24 * 3600 }),
  /** A registration whose address has answered no health check this long is junk (or a typo): forgotten, its place freed. */
  FORGET_UNANSWERED_AFTER_S: secondsAsMs(3600, { min: 1, max: 365 * 24 * 3600 }),
});

export type RegistryConfig = z.infer<typeof registryEnv>;

export function parseRegistryConfig(env: Record<string, string | undefined>): RegistryConfig {
  return parseEnv(registryEnv, env);
}
