import { databaseOptions, loadEnvOrExit } from '@dwld/config';
import { createDatabase } from '@dwld/db';
import { EventPublisher } from '@dwld/events';
import { createServiceLogger } from '@dwld/logger';
import { openRedis, refuseEvictingRedis, runUntilSignalled } from '@dwld/runtime';
import { RegistryApp } from './app';
import { registryEnv } from './config';

// The registry's composition root: read config once, build every dependency, start, stop on signal.
async function main(): Promise<void> {
  // A missing or malformed variable stops the process here with one line naming it.
  const config = loadEnvOrExit(registryEnv);
  const logger = createServiceLogger('registry', config, [config.REGISTRATION_TOKEN, config.DATABASE_URL, config.REDIS_URL]);
  const db = createDatabase(config.DATABASE_URL, { ...databaseOptions(config), logger });
  const redis = openRedis(config.REDIS_URL, logger);
  // An evicting Redis would drop events and jobs: one line and exit 78 before anything starts (REDIS_ALLOW_EVICTION overrides).
  await refuseEvictingRedis(redis, { allowEviction: config.REDIS_ALLOW_EVICTION, logger });
  const publisher = new EventPublisher({ redis, prefix: config.STREAM_PREFIX });
  const app = new RegistryApp({ config, db, redis, publisher, logger });

  await runUntilSignalled({ service: 'registry', logger, timeoutMs: config.SHUTDOWN_TIMEOUT_S, app, close: [db, redis] });
}

void main();
