import type { Redis } from 'ioredis';
import type { Database } from '@dwld/db';
import { errorMessage } from '@dwld/errors';
import type { DownloaderChanged, EventMeta } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import { JobQueue } from './job-queue';
import type { UserStore } from './store/users';
import type { TelegramOutbox } from './telegram/outbox';
import { textsForUser, type Language } from './texts';

export const ALERT_QUEUE = 'downloader-alerts';

/**
 * Whether to tell admins about a downloader's health now. One key per downloader holds what
 * admins were last told and when (and which look told them, so a look redone after a crash
 * sends the same messages again, which the outbox drops as duplicates):
 * - the same as last told: nothing ("same", or "resend" for the look that told them);
 * - never told and healthy: nothing to come back from; remembered quietly ("quiet");
 * - otherwise, at most one message per interval: "announce" now, or "later" at the given time.
 * ARGV: the health ('1' / '0'), the interval (ms), the look's id.
 */
const DECIDE = `
local told = redis.call('HGET', KEYS[1], 'state')
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
local look = redis.call('HGET', KEYS[1], 'look')
-- Redis's clock, not a replica's: every replica measures the interval the same way.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if told == ARGV[1] then
  if look == ARGV[3] then return {'resend', at} end
  return {'same', at}
end
if told == false and ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'state', '1', 'at', 0, 'look', ARGV[3])
  return {'quiet', 0}
end
if told == false or now - at >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'state', ARGV[1], 'at', now, 'look', ARGV[3])
  return {'announce', now}
end
return {'later', at + tonumber(ARGV[2])}
`;

export interface DownloaderAlertsOptions {
  redis: Redis;
  prefix: string;
  db: Database;
  users: UserStore;
  outbox: TelegramOutbox;
  adminIds: readonly string[];
  defaultLanguage: Language;
  /** At most one message per downloader this often; changes in between are summed up after it. */
  intervalMs: number;
  logger: Logger;
  now?: () => number;
}

/**
 * Tells admins (who have not turned notifications off) when a downloader stops answering its
 * health checks and when it answers again (or registers again). A `downloader.changed` event
 * only triggers a look:
 * what is told is the downloader's health in the table at that moment, so a burst of old or
 * flapping events comes to at most one message per downloader per interval, and the state it
 * settled in is told once the interval is over (a durable delayed job looks again then).
 */
export class DownloaderAlerts {
  private readonly looks: JobQueue<{ name: string; dueAt: number }>;
  private readonly now: () => number;

  constructor(private readonly options: DownloaderAlertsOptions) {
    this.now = options.now ?? Date.now;
    this.looks = new JobQueue(options.redis, ALERT_QUEUE, options.logger, {
      prefix: options.prefix,
      defaultJobOptions: { attempts: 10, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } },
    });
  }

  /**
   * The downloader.changed handler. Every change is a reason to look: a downloader that was
   * down may come back by registering again (at a new address) rather than by a health check.
   */
  readonly handle = async (event: DownloaderChanged, meta: EventMeta): Promise<void> => {
    if (this.options.adminIds.length === 0) return;
    // Forgotten (unheard of for FORGET_DOWNLOADER_AFTER_S): admins were told it stopped
    // answering days ago, and a forgetting is housekeeping, not news. What they were told stays
    // remembered, so a downloader that comes back later is told as back.
    if (event.change === 'forgotten') return;
    await this.look(event.name, meta.eventId);
  };

  startWorker(): void {
    this.looks.startWorker(
      async (job) => {
        // A delayed job may fire a moment before Redis's clock says the interval is over: it is
        // tried again (with backoff) rather than scheduling itself under its own id.
        if ((await this.look(job.data.name, `later-${job.data.dueAt}`, true)) === 'later') throw new Error('the interval is not over yet');
      },
      { prefix: this.options.prefix, concurrency: 1 },
    );
  }

  stop(): Promise<void> {
    return this.looks.stop();
  }

  /** Looks at a downloader's health and tells admins when it is due; says what it decided. */
  private async look(name: string, look: string, fromDelayedJob = false): Promise<string> {
    const { db, redis, prefix, intervalMs, logger } = this.options;
    const downloader = await db.downloader.findUnique({ where: { name }, select: { healthy: true, lastSeenAt: true } });
    // Gone from the table: nothing to tell.
    if (!downloader) return 'gone';
    const key = `${prefix}:downloader-alert:${name}`;
    const [verdict, at] = (await redis.eval(DECIDE, 1, key, downloader.healthy ? '1' : '0', intervalMs, look)) as [string, number];
    if (verdict === 'later') {
      if (fromDelayedJob) return verdict;
      const dueAt = Number(at);
      await this.looks.queue.add('look', { name, dueAt }, { jobId: `look-${name.replace(/:/g, '_')}-${dueAt}`, delay: Math.max(0, dueAt - this.now()) });
      logger.debug('downloader health change told later', { downloader: name, healthy: downloader.healthy, at: new Date(dueAt).toISOString() });
      return verdict;
    }
    if (verdict === 'announce' || verdict === 'resend') {
      await this.tell(name, downloader.healthy, downloader.lastSeenAt, `${look}-${Number(at)}`);
      logger.info('admins told of a downloader health change', { downloader: name, healthy: downloader.healthy });
    }
    return verdict;
  }

  private async tell(name: string, healthy: boolean, lastSeenAt: Date, key: string): Promise<void> {
    const { adminIds, users, outbox, defaultLanguage, logger } = this.options;
    for (const admin of adminIds) {
      const user = await users.find(admin);
      if (user?.notifications === false) continue;
      const texts = textsForUser(user, defaultLanguage);
      await outbox
        .send({ chatId: admin, text: healthy ? texts.downloaderUp(name) : texts.downloaderDown(name, lastSeenAt), mayBeRefused: true }, { jobId: `alert-${name}-${key}-${admin}` })
        .catch((err: unknown) => {
          logger.warn('downloader alert not queued', { downloader: name, admin, error: errorMessage(err) });
          throw err;
        });
    }
  }
}
