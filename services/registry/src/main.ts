import { loadEnvOrExit } from '@dwld/config';
import { createDatabase } from '@dwld/db';
import { EventPublisher } from '@dwld/events';
import { createServiceLogger } from '@dwld/logger';
import { openRedis, runUntilSignalled } from '@dwld/runtime';
import { RegistryApp } from './app';
import { registryEnv } from './config';

// The registry's composition root: read config once, build every dependency, start, stop on signal.
async function main(): Promise<void> {
  // A missing or malformed variable stops the process here with one line naming it.
  const config = loadEnvOrExit(registryEnv);
  const logger = createServiceLogger('registry', config, [config.REGISTRATION_TOKEN, config.DATABASE_URL, config.REDIS_URL]);
  const db = createDatabase(config.DATABASE_URL, { poolSize: config.DATABASE_POOL_SIZE });
  const redis = openRedis(config.REDIS_URL, logger);
  const publisher = new EventPublisher({ redis, prefix: config.STREAM_PREFIX });
  const app = new RegistryApp({ config, db, redis, publisher, logger });

  await runUntilSignalled({ service: 'registry', logger, timeoutMs: config.SHUTDOWN_TIMEOUT_S, app, close: [db, redis] });
}

void main();
