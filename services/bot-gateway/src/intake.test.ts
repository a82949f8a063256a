import { connectDatabase } from '@dwld/db';
import { EventPublisher } from '@dwld/events';
import { silentLogger } from '@dwld/logger';
import { createRedisNamespace, createTestDatabase, freePort } from '@dwld/testkit';
import { Redis } from 'ioredis';
import { LinkIntake } from './intake';
import { LinkQueue } from './store/link-queue';

describe('LinkIntake when everything is down', () => {
  it('says not_queued when neither PostgreSQL nor Redis takes the link', async () => {
    const [pgPort, redisPort] = await Promise.all([freePort(), freePort()]);
    const { db, sql } = connectDatabase(`postgresql://postgres@127.0.0.1:${pgPort}/none`, { connectionTimeoutMs: 300 });
    const redis = new Redis(`redis://127.0.0.1:${redisPort}`, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    const intake = new LinkIntake({
      links: new LinkQueue(db, sql),
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

describe('LinkIntake with a message seen before', () => {
  it('recognises a redelivered message whose link was already handed over, and queues nothing', async () => {
    const database = await createTestDatabase();
    const ns = await createRedisNamespace('intake');
    const { db, sql } = connectDatabase(database.url, { poolSize: 2 });
    const intake = new LinkIntake({
      links: new LinkQueue(db, sql),
      publisher: new EventPublisher({ redis: ns.redis, prefix: ns.prefix }),
      logger: silentLogger(),
      policy: { maxLength: 2048, allowPrivateHosts: false },
      defaultQuality: '720',
      dispatchDelayMs: 0,
    });
    try {
      const url = 'https://youtube.com/watch?v=again';
      const first = await intake.accept({ raw: url, userId: '7', chatId: '7', username: null, messageId: 40 });
      expect(first.status).toBe('queued');
      // A scheduler handed it over: the row left the queue, the history keeps the message id.
      const link = await db.link.delete({ where: { id: first.status === 'queued' ? first.link.id : -1 } });
      await db.dispatch.create({
        data: { linkId: link.id, url, host: link.host, userId: 7n, chatId: 7n, downloader: 'nas', quality: '720', messageId: 40, attempts: 1, sendAt: link.sendAt },
      });
      expect(await intake.accept({ raw: url, userId: '7', chatId: '7', username: null, messageId: 40 })).toEqual({ status: 'handed_over', url, downloader: 'nas' });
      expect(await db.link.count()).toBe(0);
      // The same link in a new message is a new request.
      expect((await intake.accept({ raw: url, userId: '7', chatId: '7', username: null, messageId: 41 })).status).toBe('queued');
      // And from another chat with the same message number, too.
      expect((await intake.accept({ raw: url, userId: '8', chatId: '8', username: null, messageId: 40 })).status).toBe('queued');
    } finally {
      await db.$disconnect();
      await ns.cleanup();
      await database.drop();
    }
  });
});
