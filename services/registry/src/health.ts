/** What the registry knows of a downloader's health. */
export interface HealthState {
  healthy: boolean;
  /** The last time it answered (a health check or a registration). */
  lastSeenAt: Date;
}

/**
 * The health a downloader has after one check. An answer makes it healthy at once; failures
 * make it unhealthy only once it has not answered for `unhealthyAfterMs`, so one lost check
 * does not move its links elsewhere.
 */
export function nextHealth(state: HealthState, answered: boolean, now: Date, unhealthyAfterMs: number): HealthState {
  if (answered) return { healthy: true, lastSeenAt: now };
  const silentFor = now.getTime() - state.lastSeenAt.getTime();
  return { healthy: state.healthy && silentFor < unhealthyAfterMs, lastSeenAt: state.lastSeenAt };
}
