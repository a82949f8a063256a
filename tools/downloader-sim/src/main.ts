import { loadEnvOrExit } from '@dwld/config';
import { createServiceLogger } from '@dwld/logger';
import { runUntilSignalled } from '@dwld/runtime';
import { DownloaderSimApp } from './app';
import { simEnv } from './config';

// The simulated downloader's composition root: read config once, build, start, stop on signal.
async function main(): Promise<void> {
  // A missing or malformed variable stops the process here with one line naming it.
  const config = loadEnvOrExit(simEnv);
  const logger = createServiceLogger('downloader-sim', config, [config.REGISTRATION_TOKEN]);
  const app = new DownloaderSimApp({ config, logger });

  await runUntilSignalled({ service: 'downloader-sim', logger, timeoutMs: config.SHUTDOWN_TIMEOUT_S, app });
}

void main();
