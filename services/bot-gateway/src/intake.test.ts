import { createDatabase } from '@dwld/db';
import { EventPublisher } from '@dwld/events';
import { silentLogger } from '@dwld/logger';
import { freePort } from '@dwld/testkit';
import { Redis } from 'ioredis';
import { LinkIntake } from './intake';
import { LinkStore } from './store/links';

describe('LinkIntake when everything is down', () => {
  it('says not_queued when neither PostgreSQL nor Redis takes the link', async () => {
    const [pgPort, redisPort] = await Promise.all([freePort(), freePort()]);
    const db = createDatabase(`postgresql://postgres@127.0.0.1:${pgPort}/none`, { connectionTimeoutMs: 300 });
    const redis = new Redis(`redis://127.0.0.1:${redisPort}`, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    const intake = new LinkIntake({
      links: new LinkStore(db),
      publisher: new EventPublisher({ redis, prefix: 'nowhere' }),
      logger: silentLogger(),
      policy: { maxLength: 2048, allowPrivateHosts: false },
      defaultQuality: '720',
      dispatchDelayMs: 60_000,
    });
    try {
      const outcome = await intake.accept({ raw: 'https://youtube.com/watch?v=lost', userId: '1', chatId: '1', username: null, messageId: 5 });
      expect(outcome).toEqual({ status: 'not_queued', url: 'https://youtube.com/watch?v=lost' });
      // Rejections do not touch either store.
      expect(await intake.accept({ raw: 'ftp://x.org/a', userId: '1', chatId: '1', username: null, messageId: 6 })).toEqual({ status: 'rejected', reason: 'scheme' });
    } finally {
      redis.disconnect();
      await db.$disconnect();
    }
  });
});
