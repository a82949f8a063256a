import { loadEnvOrExit } from '@dwld/config';
import { createDatabase } from '@dwld/db';
import { EventPublisher } from '@dwld/events';
import { createLogger } from '@dwld/logger';
import { handleShutdown } from '@dwld/runtime';
import { Redis } from 'ioredis';
import { RegistryApp } from './app';
import { registryEnv } from './config';

// The registry's composition root: read config once, build every dependency, start, stop on signal.
async function main(): Promise<void> {
  // A missing or malformed variable stops the process here with one line naming it.
  const config = loadEnvOrExit(registryEnv);
  const logger = createLogger({
    service: 'registry',
    level: config.LOG_LEVEL,
    json: config.NODE_ENV === 'production',
    secrets: [config.REGISTRATION_TOKEN, config.DATABASE_URL, config.REDIS_URL],
  });
  const db = createDatabase(config.DATABASE_URL, { poolSize: 5 });
  // Fail fast per command while Redis is away instead of queueing commands for minutes.
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: false });
  redis.on('error', (err) => logger.debug('redis connection error', { error: err.message }));
  const publisher = new EventPublisher({ redis, prefix: config.STREAM_PREFIX });
  const app = new RegistryApp({ config, db, redis, publisher, logger });

  const shutdown = handleShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_S,
    stop: async () => {
      await app.stop();
      await Promise.allSettled([db.$disconnect(), redis.quit()]);
    },
  });
  process.on('unhandledRejection', (reason) => {
    logger.error('unhandled rejection', { error: reason instanceof Error ? reason.message : String(reason) });
    void shutdown('unhandled rejection', 1);
  });

  try {
    await app.start();
  } catch (err) {
    logger.error('registry could not start', { error: (err as Error).message });
    await shutdown('start failed', 1);
  }
}

void main();
