import type { Logger } from '@dwld/logger';
import { errorMessage } from '@dwld/errors';
import { closeAll, type Closable } from './connections';

export interface ShutdownOptions {
  logger: Logger;
  /** Stops the service: finish work in flight, release what it holds, close connections. */
  stop: () => Promise<void>;
  /** After this long the process exits anyway, with code 1. */
  timeoutMs?: number;
  /**
   * Where SIGTERM, SIGINT, SIGHUP and 'disconnect' come from: the real process, or an emitter
   * injected in tests.
   */
  signals?: NodeJS.EventEmitter;
  exit?: (code: number) => void;
}

/** The signals a process manager or a terminal sends to stop a process. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * Stops the service cleanly on SIGTERM, SIGINT or SIGHUP, once. A second signal, or a stop that
 * takes longer than the timeout, exits at once: an operator pressing Ctrl-C twice means it.
 *
 * A process started with an IPC channel (`scripts/dwld.mjs` starts every service so) also stops
 * when that channel closes, which is what happens when the parent dies, even by SIGKILL: a
 * service never outlives the runner that started it. The channel closing while a stop is
 * already under way changes nothing (the parent may well die while its children stop).
 *
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
        logger.error('stop failed', { error: errorMessage(err) });
        exit(1);
      },
    );
    return stopping;
  };

  for (const signal of STOP_SIGNALS) signals.on(signal, () => void shutdown(signal));
  signals.on('disconnect', () => {
    if (stopping) return;
    void shutdown('parent process gone');
  });
  // The channel only tells us when the parent is gone: it must not keep the process alive.
  if (signals === process) process.channel?.unref();
  return shutdown;
}

export interface RunOptions {
  /** Names the service in the start-failure line. */
  service: string;
  logger: Logger;
  /** How long a stop may take before the process exits anyway. */
  timeoutMs: number;
  /** The service's app: started once, stopped on the first signal. */
  app: { start(): Promise<unknown>; stop(): Promise<void> };
  /** What the composition root opened (database, Redis), closed once the app has stopped. */
  close?: readonly Closable[];
}

/**
 * The tail of every composition root: start, stop cleanly on SIGTERM, SIGINT, SIGHUP or when the
 * parent that started it over IPC is gone (see handleShutdown), and treat an
 * unhandled rejection or a failed start as fatal (stop, exit 1) rather than run half-broken.
 */
export async function runUntilSignalled(options: RunOptions): Promise<void> {
  const { logger } = options;
  const { app, close = [] } = options;
  const stop = async () => {
    await app.stop();
    await closeAll(close);
  };
  const shutdown = handleShutdown({ logger, timeoutMs: options.timeoutMs, stop });
  process.on('unhandledRejection', (reason) => {
    logger.error('unhandled rejection', { error: errorMessage(reason) });
    void shutdown('unhandled rejection', 1);
  });
  try {
    await app.start();
  } catch (err) {
    logger.error(`${options.service} could not start`, { error: errorMessage(err) });
    await shutdown('start failed', 1);
  }
}
