import { loadEnvOrExit } from '@dwld/config';
import { createLogger } from '@dwld/logger';
import { handleShutdown } from '@dwld/runtime';
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

  const shutdown = handleShutdown({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_S, stop: () => app.stop() });
  process.on('unhandledRejection', (reason) => {
    logger.error('unhandled rejection', { error: reason instanceof Error ? reason.message : String(reason) });
    void shutdown('unhandled rejection', 1);
  });

  try {
    await app.start();
  } catch (err) {
    logger.error('downloader-sim could not start', { error: (err as Error).message });
    await shutdown('start failed', 1);
  }
}

void main();
