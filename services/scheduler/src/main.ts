import { ConfigError } from '@dwld/config';
import { connectDatabase } from '@dwld/db';
import { createLogger } from '@dwld/logger';
import { runUntilSignalled } from '@dwld/runtime';
import { Redis } from 'ioredis';
import { SchedulerApp } from './app';
import { parseSchedulerConfig } from './config';

// The scheduler's composition root: read config once, build every dependency, start, stop on signal.
async function main(): Promise<void> {
  let config;
  try {
    config = parseSchedulerConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  const logger = createLogger({
    service: 'scheduler',
    level: config.LOG_LEVEL,
    json: config.NODE_ENV === 'production',
    secrets: [config.DATABASE_URL, config.REDIS_URL],
  });
  // Outcomes are recorded in groups, so a few connections serve any DISPATCH_CONCURRENCY.
  const { db, sql } = connectDatabase(config.DATABASE_URL, { poolSize: config.DATABASE_POOL_SIZE });
  // Fail fast per command while Redis is away instead of queueing commands for minutes.
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: false });
  redis.on('error', (err) => logger.debug('redis connection error', { error: err.message }));
  const app = new SchedulerApp({ config, db, sql, redis, logger });

  await runUntilSignalled({
    service: 'scheduler',
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_S,
    start: () => app.start(),
    stop: async () => {
      await app.stop();
      await Promise.allSettled([db.$disconnect(), redis.quit()]);
    },
  });
}

void main();
