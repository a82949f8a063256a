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

export interface RunOptions {
  /** Names the service in the start-failure line. */
  service: string;
  logger: Logger;
  /** How long a stop may take before the process exits anyway. */
  timeoutMs: number;
  start: () => Promise<unknown>;
  /** Stops the service and closes what the composition root opened. */
  stop: () => Promise<void>;
}

/**
 * The tail of every composition root: start, stop cleanly on SIGTERM/SIGINT, and treat an
 * unhandled rejection or a failed start as fatal (stop, exit 1) rather than run half-broken.
 */
export async function runUntilSignalled(options: RunOptions): Promise<void> {
  const { logger } = options;
  const shutdown = handleShutdown({ logger, timeoutMs: options.timeoutMs, stop: options.stop });
  process.on('unhandledRejection', (reason) => {
    logger.error('unhandled rejection', { error: reason instanceof Error ? reason.message : String(reason) });
    void shutdown('unhandled rejection', 1);
  });
  try {
    await options.start();
  } catch (err) {
    logger.error(`${options.service} could not start`, { error: (err as Error).message });
    await shutdown('start failed', 1);
  }
}
