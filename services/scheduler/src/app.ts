import { eventConsumerDefaults } from '@dwld/config';
import { randomBytes } from 'node:crypto';
import { GrpcV1Downloaders, type DownloaderPort } from '@dwld/contract';
import { EventOutbox, isDatabaseReachable, type Database, type Sql } from '@dwld/db';
import {
  createEventBus,
  defaultConsumerName,
  downloaderChanged,
  linkAdded,
  linkUrgent,
  qualitySet,
  type EventBus,
  type EventConsumerOptions,
} from '@dwld/events';
import type { Logger } from '@dwld/logger';
import { OpsServer } from '@dwld/runtime';
import type { Redis } from 'ioredis';
import { Dispatcher } from './attempt';
import type { SchedulerConfig } from './config';
import { DownloaderDirectory } from './downloader-directory';
import { DispatchLedger } from './dispatch-ledger';
import { SchedulerMetrics } from './metrics';
import { OutboxRelay, type OutboxRelayOptions } from './outbox-relay';
import { Scheduler } from './scheduler';
import { UrgentDispatcher } from './urgent';

/** The scheduler's consumer group on every stream it reads. */
export const CONSUMER_GROUP = 'scheduler';

export interface SchedulerDeps {
  config: SchedulerConfig;
  db: Database;
  /** Raw statements on the same pool as `db` (connectDatabase), for the dispatch loop's hot statements. */
  sql: Sql;
  /** Shared by the publisher and the consumers (each consumer adds its own blocking connection); closed by the caller. */
  redis: Redis;
  logger: Logger;
  /** Routing and jitter draws; Math.random unless a test pins them. */
  random?: () => number;
  /** Overrides for the event consumers (tests shorten their reclaim times). */
  consumerOptions?: EventConsumerOptions;
  /** Overrides for the outbox relay's sweeps (tests shorten them). */
  relayOptions?: Pick<OutboxRelayOptions, 'sweepIntervalMs' | 'graceMs' | 'batchSize'>;
}

/** One scheduler replica: the dispatch loop, its event consumers and its ops endpoints. */
export class SchedulerApp {
  /** This process life's claim owner: `CONSUMER_NAME#random`, so a restart never mistakes old claims for its own. */
  readonly owner: string;
  readonly scheduler: Scheduler;
  readonly metrics: SchedulerMetrics;
  readonly store: DispatchLedger;
  readonly directory: DownloaderDirectory;
  readonly relay: OutboxRelay;
  private readonly downloaders: DownloaderPort;
  private readonly bus: EventBus;
  private readonly ops: OpsServer;
  private stopping = false;
  private stopped: Promise<void> | undefined;

  constructor(private readonly deps: SchedulerDeps) {
    const { config, db, sql, redis } = deps;
    const logger = deps.logger;
    const random = deps.random ?? Math.random;
    const consumerName = config.CONSUMER_NAME ?? defaultConsumerName();
    this.owner = `${consumerName}#${randomBytes(4).toString('hex')}`;
    this.store = new DispatchLedger(db, sql);
    const outbox = new EventOutbox(sql);
    this.metrics = new SchedulerMetrics(() => this.store.countDue(), { outboxPending: () => outbox.count(), deadLetters: () => this.bus.deadLetters() });
    this.directory = new DownloaderDirectory(db, logger);
    // The downloaders speak grpc.v1; another protocol would be another DownloaderPort here.
    this.downloaders = new GrpcV1Downloaders({ lookup: this.directory.lookup, deadlineMs: config.DOWNLOADER_DEADLINE_S });
    const dispatcher = new Dispatcher({
      downloaders: this.downloaders,
      target: this.directory.target,
      metrics: this.metrics,
      logger,
      random,
    });
    this.bus = createEventBus({ redis, prefix: config.STREAM_PREFIX, logger, consumerName, consumerDefaults: eventConsumerDefaults(config) });
    this.relay = new OutboxRelay({ outbox, publisher: this.bus.publisher, logger, metrics: this.metrics, ...deps.relayOptions });
    const shared = {
      store: this.store,
      directory: this.directory,
      dispatcher,
      publisher: this.bus.publisher,
      relay: this.relay,
      metrics: this.metrics,
      logger,
      owner: this.owner,
      leaseMs: config.CLAIM_LEASE_S,
      deadlineMs: config.DOWNLOADER_DEADLINE_S,
      backoff: { baseMs: config.RETRY_BASE_S, capMs: config.RETRY_CAP_S },
      limits: { maxRefusals: config.MAX_REFUSALS, maxAttempts: config.MAX_ATTEMPTS, giveUpAfterMs: config.GIVE_UP_AFTER_S },
      random,
    };
    this.scheduler = new Scheduler({
      ...shared,
      intervalMs: config.SCHEDULER_INTERVAL_S,
      batchSize: config.CLAIM_BATCH_SIZE,
      concurrency: config.DISPATCH_CONCURRENCY,
    });
    const urgent = new UrgentDispatcher({ ...shared, redis, prefix: config.STREAM_PREFIX, isStopping: () => this.stopping });

    const options = deps.consumerOptions;
    // Wake-ups only: the table is the truth, so these handlers cannot fail and need no dedup.
    this.bus.subscribe({ group: CONSUMER_GROUP, event: linkAdded, handler: (event) => this.scheduler.wakeAt(new Date(event.sendAt)), ...(options ? { options } : {}) });
    this.bus.subscribe({ group: CONSUMER_GROUP, event: qualitySet, handler: () => this.scheduler.wake(), ...(options ? { options } : {}) });
    this.bus.subscribe({ group: CONSUMER_GROUP, event: downloaderChanged, handler: (event) => this.directory.apply(event), ...(options ? { options } : {}) });
    // An urgent link the database could not take yet comes back after URGENT_RETRY_S, for about a day.
    this.bus.subscribe({
      group: CONSUMER_GROUP,
      event: linkUrgent,
      handler: urgent.handle,
      options: {
        minIdleMs: config.URGENT_RETRY_S,
        reclaimIntervalMs: Math.max(50, Math.floor(config.URGENT_RETRY_S / 2)),
        maxDeliveries: Math.min(10_000, Math.ceil((24 * 3600 * 1000) / config.URGENT_RETRY_S)),
        ...options,
      },
    });

    this.ops = new OpsServer({
      host: config.HTTP_HOST,
      port: config.HTTP_PORT,
      metrics: this.metrics.registry,
      logger,
      readiness: [
        { name: 'database', check: () => isDatabaseReachable(db) },
        { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
      ],
    });
  }

  /** Starts the ops endpoints, the event consumers and the dispatch loop; resolves with the bound HTTP port. */
  async start(): Promise<{ httpPort: number }> {
    const { config, logger } = this.deps;
    const httpPort = await this.ops.start();
    await this.bus.start();
    this.relay.start();
    this.scheduler.start();
    logger.info('scheduler started', {
      owner: this.owner,
      http: `${config.HTTP_HOST}:${httpPort}`,
      intervalMs: config.SCHEDULER_INTERVAL_S,
      leaseMs: config.CLAIM_LEASE_S,
      concurrency: config.DISPATCH_CONCURRENCY,
    });
    return { httpPort };
  }

  /**
   * Stops claiming and consuming, lets the calls in flight finish and records them, releases
   * what was claimed but not started, then closes the ops endpoints. Safe to call twice.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      await Promise.all([this.scheduler.stop(), this.bus.stop()]);
      // After the last outcome was recorded: its result goes out now, or stays in the outbox for another replica.
      await this.relay.stop();
      // Every call has ended with the scheduler's stop: the channels to downloaders can go.
      this.downloaders.close();
      await this.ops.stop();
    })();
    return this.stopped;
  }
}
