import { settleFailedTry, type FailedTry, type FailurePolicy } from './failed-try';
import { SchedulerMetrics } from './metrics';

describe('settleFailedTry (the polls and link.urgent alike)', () => {
  const at = new Date('2026-11-27T12:00:00Z');
  let metrics: SchedulerMetrics;
  let policy: FailurePolicy;
  const tried = (extra: Partial<FailedTry> = {}): FailedTry => ({ failure: { kind: 'unavailable', message: 'nas: down' }, attempt: 1, firstFailedAt: null, giveUp: false, unconfirmed: null, at, ...extra });
  const counted = async (name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values.map((v) => [v.labels.reason, v.value]);

  beforeEach(() => {
    metrics = new SchedulerMetrics(async () => 0);
    policy = { metrics, backoff: { baseMs: 1_000, capMs: 60_000 }, limits: { maxRefusals: 2, maxAttempts: 3, giveUpAfterMs: 3_600_000 }, random: () => 0.5 };
  });

  it('schedules a retry, writes the record, counts the failure', async () => {
    const writes: unknown[] = [];
    const settled = await settleFailedTry(policy, tried({ unconfirmed: 'nas' }), async (record) => (writes.push(record), 'written'));
    expect(settled.written).toBe('written');
    expect(settled.gaveUp).toBeNull();
    expect(settled.record).toEqual({ attempts: 1, lastError: 'nas: down', kind: 'unavailable', reason: null, nextAttemptAt: expect.any(Date), firstFailedAt: at, unconfirmedDownloader: 'nas' });
    expect(settled.record.nextAttemptAt!.getTime()).toBeGreaterThan(at.getTime());
    expect(writes).toEqual([settled.record]);
    expect(settled.result).toEqual({ ok: false, downloader: null, error: { kind: 'unavailable', message: 'nas: down' }, nextAttemptAt: settled.record.nextAttemptAt!.toISOString(), failed: false });
    expect(await counted('dwld_scheduler_dispatch_failures_total')).toEqual([['unavailable', 1]]);
    expect(await counted('dwld_scheduler_links_failed_total')).toEqual([]);
  });

  it('gives up by the limits, or at once for a link that cannot be sent, keeping the first failure time', async () => {
    const first = new Date('2026-11-27T11:00:00Z');
    const limit = await settleFailedTry(policy, tried({ attempt: 3, firstFailedAt: first }), async () => null);
    expect(limit).toMatchObject({ gaveUp: 'attempts', record: { attempts: 3, nextAttemptAt: null, firstFailedAt: first }, result: { failed: true, nextAttemptAt: null } });
    const unsendable = await settleFailedTry(policy, tried({ failure: { kind: 'internal', message: 'cannot be sent' }, giveUp: true }), async () => null);
    expect(unsendable).toMatchObject({ gaveUp: 'refused', record: { nextAttemptAt: null, kind: 'internal' } });
    const refused = await settleFailedTry(policy, tried({ failure: { kind: 'refused', message: 'no', reason: 'unsupported' }, attempt: 2 }), async () => null);
    expect(refused).toMatchObject({ gaveUp: 'refused', record: { reason: 'unsupported' } });
    expect(await counted('dwld_scheduler_links_failed_total')).toEqual([['gave_up_attempts', 1], ['internal', 1], ['refused', 1]]);
  });

  it('counts nothing when the record cannot be written', async () => {
    await expect(settleFailedTry(policy, tried(), async () => Promise.reject(new Error('database away')))).rejects.toThrow('database away');
    expect(await counted('dwld_scheduler_dispatch_failures_total')).toEqual([]);
  });
});
