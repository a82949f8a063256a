import { loadEnvOrExit } from '@dwld/config';
import { createLogger } from '@dwld/logger';
import { runUntilSignalled } from '@dwld/runtime';
import { DownloaderSimApp } from './app';
import { simEnv } from './config';

// The simulated downloader's composition root: read config once, build, start, stop on signal.
async function main(): Promise<void> {
  // A missing or malformed variable stops the process here with one line naming it.
  const config = loadEnvOrExit(simEnv);
  const logger = createLogger({
    service: 'downloader-sim',
    level: config.LOG_LEVEL,
    json: config.NODE_ENV === 'production',
    secrets: [config.REGISTRATION_TOKEN],
  });
  const app = new DownloaderSimApp({ config, logger });

  await runUntilSignalled({
    service: 'downloader-sim',
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_S,
    start: () => app.start(),
    stop: () => app.stop(),
  });
}

void main();
