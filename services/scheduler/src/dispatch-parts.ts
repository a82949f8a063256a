import type { EventPublisher } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import type { OutboxRelay } from './outbox-relay';
import type { Dispatcher } from './attempt';
import type { RetryLimits } from './decisions';
import type { DispatchLedger } from './dispatch-ledger';
import type { DownloaderDirectory } from './downloader-directory';
import type { SchedulerMetrics } from './metrics';

/** What both ways a link is dispatched (the poll loop and link.urgent events) are built from; app.ts makes it once. */
export interface DispatchParts {
  store: DispatchLedger;
  directory: DownloaderDirectory;
  dispatcher: Dispatcher;
  /** For results that cannot go through the outbox (the database is down). */
  publisher: EventPublisher;
  /** Publishes the outbox rows the ledger wrote, right after their commit. */
  relay: OutboxRelay;
  metrics: SchedulerMetrics;
  logger: Logger;
  /** This replica's claim owner: unique per process life. */
  owner: string;
  leaseMs: number;
  deadlineMs: number;
  backoff: { baseMs: number; capMs: number };
  limits: RetryLimits;
  random: () => number;
}
