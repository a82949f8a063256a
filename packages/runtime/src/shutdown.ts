import type { Logger } from '@dwld/logger';

export interface ShutdownOptions {
  logger: Logger;
  /** Stops the service: finish work in flight, release what it holds, close connections. */
  stop: () => Promise<void>;
  /** After this long the process exits anyway, with code 1. */
  timeoutMs?: number;
  /** Injected in tests; the real process otherwise. */
  signals?: NodeJS.EventEmitter;
  exit?: (code: number) => void;
}

/**
 * Stops the service cleanly on SIGTERM or SIGINT, once. A second signal, or a stop that takes
 * longer than the timeout, exits at once: an operator pressing Ctrl-C twice means it.
 * Returns a function that triggers the same stop (for a fatal error found elsewhere).
 */
export function handleShutdown(options: ShutdownOptions): (reason: string, exitCode?: number) => Promise<void> {
  const { logger, stop, timeoutMs = 30_000 } = options;
  const signals = options.signals ?? process;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping: Promise<void> | undefined;

  const shutdown = (reason: string, exitCode = 0): Promise<void> => {
    if (stopping) {
      logger.warn('second stop request: exiting now', { reason });
      exit(1);
      return stopping;
    }
    logger.info('stopping', { reason });
    const timer = setTimeout(() => {
      logger.error('stop took too long: exiting', { timeoutMs });
      exit(1);
    }, timeoutMs);
    timer.unref();
    stopping = stop().then(
      () => {
        clearTimeout(timer);
        logger.info('stopped');
        exit(exitCode);
      },
      (err: unknown) => {
        clearTimeout(timer);
        logger.error('stop failed', { error: (err as Error).message });
        exit(1);
      },
    );
    return stopping;
  };

  signals.on('SIGTERM', () => void shutdown('SIGTERM'));
  signals.on('SIGINT', () => void shutdown('SIGINT'));
  return shutdown;
}
