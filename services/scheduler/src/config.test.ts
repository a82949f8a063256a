import { ConfigError } from '@dwld/config';
import { parseSchedulerConfig } from './config';

const base = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/dwld' };

describe('parseSchedulerConfig', () => {
  it('has defaults for everything but the database', () => {
    expect(parseSchedulerConfig(base)).toMatchObject({
      HTTP_PORT: 8083,
      SCHEDULER_INTERVAL_S: 1000,
      CLAIM_LEASE_S: 30_000,
      CLAIM_BATCH_SIZE: 50,
      DISPATCH_CONCURRENCY: 16,
      DOWNLOADER_DEADLINE_S: 5000,
      RETRY_BASE_S: 30_000,
      RETRY_CAP_S: 1_800_000,
      MAX_REFUSALS: 3,
      MAX_ATTEMPTS: 20,
      GIVE_UP_AFTER_S: 86_400_000,
      URGENT_RETRY_S: 10_000,
      SHUTDOWN_TIMEOUT_S: 15_000,
    });
  });

  it('reads seconds as milliseconds, and the give-up limits', () => {
    expect(parseSchedulerConfig({ ...base, SCHEDULER_INTERVAL_S: '0.25', MAX_ATTEMPTS: '5', GIVE_UP_AFTER_S: '3600' })).toMatchObject({
      SCHEDULER_INTERVAL_S: 250,
      MAX_ATTEMPTS: 5,
      GIVE_UP_AFTER_S: 3_600_000,
    });
  });

  it.each([
    [{ DATABASE_URL: '' }, 'Invalid configuration: DATABASE_URL is required'],
    [{ SCHEDULER_INTERVAL_S: 'soon' }, 'Invalid configuration: SCHEDULER_INTERVAL_S is invalid: must be a number of seconds'],
    [{ DISPATCH_CONCURRENCY: '0' }, 'Invalid configuration: DISPATCH_CONCURRENCY is invalid: must be at least 1'],
    [{ MAX_REFUSALS: 'three' }, 'Invalid configuration: MAX_REFUSALS is invalid: must be a whole number'],
    [{ MAX_ATTEMPTS: '0' }, 'Invalid configuration: MAX_ATTEMPTS is invalid: must be at least 1'],
    [{ GIVE_UP_AFTER_S: 'a day' }, 'Invalid configuration: GIVE_UP_AFTER_S is invalid: must be a number of seconds'],
    [{ CLAIM_LEASE_S: '5', DOWNLOADER_DEADLINE_S: '5' }, 'Invalid configuration: CLAIM_LEASE_S is invalid: must be at least twice DOWNLOADER_DEADLINE_S'],
    [{ RETRY_BASE_S: '60', RETRY_CAP_S: '10' }, 'Invalid configuration: RETRY_CAP_S is invalid: must be at least RETRY_BASE_S'],
  ])('refuses %j with one line', (bad, message) => {
    let caught: unknown;
    try {
      parseSchedulerConfig({ ...base, ...bad });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toBe(message);
  });
});
