import { databaseOptions, loadEnvOrExit } from '@dwld/config';
import { connectDatabase } from '@dwld/db';
import { defaultConsumerName } from '@dwld/events';
import { createServiceLogger } from '@dwld/logger';
import { openRedis, refuseEvictingRedis, runUntilSignalled } from '@dwld/runtime';
import { GatewayApp } from './app';
import { gatewayEnv } from './config';

// The gateway's composition root: read config once, build every dependency, start, stop on signal.
async function main(): Promise<void> {
  // A missing or malformed variable stops the process here with one line naming it.
  const config = loadEnvOrExit(gatewayEnv);
  const logger = createServiceLogger('bot-gateway', config, [config.TELEGRAM_BOT_TOKEN, config.API_TOKEN, config.WEBHOOK_SECRET, config.DATABASE_URL, config.REDIS_URL]);
  const { db, sql } = connectDatabase(config.DATABASE_URL, { ...databaseOptions(config), logger });
  const redis = openRedis(config.REDIS_URL, logger, { enableAutoPipelining: true });
  // An evicting Redis would drop events and jobs: one line and exit 78 before anything starts (REDIS_ALLOW_EVICTION overrides).
  await refuseEvictingRedis(redis, { allowEviction: config.REDIS_ALLOW_EVICTION, logger });
  const app = new GatewayApp({ config, db, sql, redis, logger, consumerName: config.CONSUMER_NAME ?? defaultConsumerName() });

  await runUntilSignalled({ service: 'gateway', logger, timeoutMs: config.SHUTDOWN_TIMEOUT_S, app, close: [db, redis] });
}

void main();
