import { databaseOptions, loadEnvOrExit } from '@dwld/config';
import { connectDatabase } from '@dwld/db';
import { createServiceLogger } from '@dwld/logger';
import { openRedis, refuseEvictingRedis, runUntilSignalled } from '@dwld/runtime';
import { SchedulerApp } from './app';
import { parseSchedulerConfig } from './config';

// The scheduler's composition root: read config once, build every dependency, start, stop on signal.
async function main(): Promise<void> {
  // A missing or malformed variable stops the process here with one line naming it.
  const config = loadEnvOrExit(parseSchedulerConfig);
  const logger = createServiceLogger('scheduler', config, [config.DATABASE_URL, config.REDIS_URL]);
  // Outcomes are recorded in groups, so a few connections serve any DISPATCH_CONCURRENCY.
  const { db, sql } = connectDatabase(config.DATABASE_URL, { ...databaseOptions(config), logger });
  const redis = openRedis(config.REDIS_URL, logger);
  // An evicting Redis would drop events and jobs: one line and exit 78 before anything starts (REDIS_ALLOW_EVICTION overrides).
  await refuseEvictingRedis(redis, { allowEviction: config.REDIS_ALLOW_EVICTION, logger });
  const app = new SchedulerApp({ config, db, sql, redis, logger });

  await runUntilSignalled({ service: 'scheduler', logger, timeoutMs: config.SHUTDOWN_TIMEOUT_S, app, close: [db, redis] });
}

void main();
