import { z } from 'zod';
import { ConfigError, commonEnv, int, parseEnv, secondsAsMs } from '@dwld/config';

export const schedulerEnv = z.object({
  ...commonEnv(8083),
  /** How often each replica looks for due links (events about new links wake it sooner). */
  SCHEDULER_INTERVAL_S: secondsAsMs(1, { min: 0.05, max: 3600 }),
  /** How long a claim holds a link; a crashed replica's links are taken by another after this. */
  CLAIM_LEASE_S: secondsAsMs(30, { min: 1, max: 3600 }),
  /** Links claimed per query at most (never more than there are free dispatch slots). */
  CLAIM_BATCH_SIZE: int({ min: 1, max: 1000, default: 50 }),
  /** Links being handed over at once by this replica. */
  DISPATCH_CONCURRENCY: int({ min: 1, max: 256, default: 16 }),
  DOWNLOADER_DEADLINE_S: secondsAsMs(5, { min: 0.05, max: 600 }),
  /** Exponential backoff between tries of a link: first delay bound, and the largest. */
  RETRY_BASE_S: secondsAsMs(30, { min: 0.01 }),
  RETRY_CAP_S: secondsAsMs(1800, { min: 0.01 }),
  /** Tries a link gets while downloaders refuse it; then it is marked failed. */
  MAX_REFUSALS: int({ min: 1, max: 100, default: 3 }),
  /** Tries a link gets in all (the deployed downloaders answer UNKNOWN to everything); then it is marked failed. */
  MAX_ATTEMPTS: int({ min: 1, max: 100_000, default: 20 }),
  /** How long after its first failed try a link is still tried; then it is marked failed. */
  GIVE_UP_AFTER_S: secondsAsMs(86_400, { min: 1 }),
  /**
   * How often each replica reads the whole downloaders table again though nothing says it
   * changed (a change moves its version, which every claim reads): a safety net, kept rare.
   */
  ROUTES_RELOAD_S: secondsAsMs(300, { min: 1, max: 86_400 }),
  /** How long a link.urgent event that could not be written down waits before it is handled again. */
  URGENT_RETRY_S: secondsAsMs(10, { min: 0.2, max: 3600 }),
  SHUTDOWN_TIMEOUT_S: secondsAsMs(15, { min: 1 }),
});

export type SchedulerConfig = z.infer<typeof schedulerEnv>;

/** Reads the scheduler's environment; throws a one-line {@link ConfigError} naming the variable. */
export function parseSchedulerConfig(env: Record<string, string | undefined>): SchedulerConfig {
  const config = parseEnv(schedulerEnv, env);
  // A call must fit in a lease with room to spare, or a slow downloader would let another
  // replica take the link while it is still being handed over.
  if (config.CLAIM_LEASE_S < 2 * config.DOWNLOADER_DEADLINE_S) {
    throw new ConfigError('CLAIM_LEASE_S', 'is invalid: must be at least twice DOWNLOADER_DEADLINE_S');
  }
  if (config.RETRY_CAP_S < config.RETRY_BASE_S) {
    throw new ConfigError('RETRY_CAP_S', 'is invalid: must be at least RETRY_BASE_S');
  }
  return config;
}
