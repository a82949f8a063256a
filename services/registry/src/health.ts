/** What the registry knows of a downloader's health. */
export interface HealthState {
  healthy: boolean;
  /** The last time it answered (a health check or a registration). */
  lastSeenAt: Date;
}

/**
 * The health a downloader has after one check. An answer makes it healthy at once; failures
 * make it unhealthy only once it has not answered for `unhealthyAfterMs`, so one lost check
 * does not move its links elsewhere. Silence is counted from `watchingSince` at the earliest
 * (when this registry began checking): a registry that was itself down saw nothing, and a
 * downloader last seen before that has had no chance to answer yet (it may be re-registering
 * at a new address right now).
 */
export function nextHealth(state: HealthState, answered: boolean, now: Date, unhealthyAfterMs: number, watchingSince?: Date): HealthState {
  if (answered) return { healthy: true, lastSeenAt: now };
  const from = Math.max(state.lastSeenAt.getTime(), watchingSince?.getTime() ?? Number.NEGATIVE_INFINITY);
  const silentFor = now.getTime() - from;
  return { healthy: state.healthy && silentFor < unhealthyAfterMs, lastSeenAt: state.lastSeenAt };
}
