import { GrpcV1Downloaders, type DownloaderPort } from '@dwld/contract';
import { isDatabaseReachable, routeOf, type Database, type Downloader } from '@dwld/db';
import { downloaderChanged, type DownloaderChanged, type EventPublisher } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import { OpsServer, createMetricsRegistry, Counter, Gauge, type Registry } from '@dwld/runtime';
import type { Redis } from 'ioredis';
import type { RegistryConfig } from './config';
import { DownloaderStore } from './downloader-store';
import { startRegistryGrpcServer, type RegistryGrpcServer } from './grpc-server';
import { HealthPoller } from './health-poller';
import { Forgetter } from './forgetter';
import { InFlightLimit } from './admission';
import { errorMessage } from '@dwld/errors';

export interface RegistryDeps {
  config: RegistryConfig;
  db: Database;
  redis: Redis;
  publisher: EventPublisher;
  logger: Logger;
}

/** The registry: the gRPC server downloaders register with, its health poller and its ops endpoints. */
export class RegistryApp {
  readonly store: DownloaderStore;
  readonly metrics: Registry;
  private readonly poller: HealthPoller;
  private readonly forgetter: Forgetter;
  private readonly ops: OpsServer;
  private grpc: RegistryGrpcServer | undefined;
  private readonly registrations: Counter;
  private readonly inFlight: InFlightLimit;
  private readonly downloaders: DownloaderPort;

  constructor(private readonly deps: RegistryDeps) {
    const { config, db, redis, logger } = deps;
    this.store = new DownloaderStore(db);
    this.metrics = createMetricsRegistry('registry');
    this.registrations = new Counter({ name: 'dwld_registrations_total', help: 'Registrations received, by outcome', labelNames: ['outcome'], registers: [this.metrics] });
    this.inFlight = new InFlightLimit(config.MAX_REGISTRATIONS_IN_FLIGHT);
    const inFlight = this.inFlight;
    new Gauge({
      name: 'dwld_registrations_in_flight',
      help: `Registrations being stored now (at most MAX_REGISTRATIONS_IN_FLIGHT, ${config.MAX_REGISTRATIONS_IN_FLIGHT})`,
      registers: [this.metrics],
      collect() {
        this.set(inFlight.inFlight());
      },
    });
    // Health checks must not outlast a round. Every check names its address (the row checked), so nothing is looked up.
    this.downloaders = new GrpcV1Downloaders({ lookup: async () => null, deadlineMs: Math.min(config.DOWNLOADER_DEADLINE_S, config.HEALTH_INTERVAL_S) });
    this.poller = new HealthPoller({
      store: this.store,
      downloaders: this.downloaders,
      logger,
      intervalMs: config.HEALTH_INTERVAL_S,
      unhealthyAfterMs: config.UNHEALTHY_AFTER_S,
      onHealthChange: (downloader) => this.announce(downloader, 'health'),
    });
    this.forgetter = new Forgetter({
      store: this.store,
      logger,
      afterMs: config.FORGET_DOWNLOADER_AFTER_S,
      unansweredAfterMs: config.FORGET_UNANSWERED_AFTER_S,
      heardFromFleet: () => this.poller.roundsCompleted() > 0,
      onForgotten: (downloader) => this.announce(downloader, 'forgotten'),
    });
    this.ops = new OpsServer({
      host: config.HTTP_HOST,
      port: config.HTTP_PORT,
      metrics: this.metrics,
      logger,
      readiness: [
        { name: 'database', check: () => isDatabaseReachable(db) },
        { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
      ],
    });
  }

  /** Starts serving; resolves with the bound ports (useful when 0 was asked for). */
  async start(): Promise<{ grpcPort: number; httpPort: number }> {
    const { config, logger } = this.deps;
    const httpPort = await this.ops.start();
    this.grpc = await startRegistryGrpcServer(
      {
        store: this.store,
        logger,
        registrationToken: config.REGISTRATION_TOKEN,
        inFlight: this.inFlight,
        limits: {
          perPeerPerMinute: config.REGISTRATIONS_PER_PEER_PER_MINUTE,
          burstPerPeer: config.REGISTRATION_BURST_PER_PEER,
          maxDownloaders: config.MAX_DOWNLOADERS,
          maxPatternBytes: config.MAX_PATTERN_BYTES,
        },
        onChanged: (downloader) => this.announce(downloader, 'registered'),
        onOutcome: (outcome) => this.registrations.inc({ outcome }),
      },
      config.GRPC_HOST,
      config.GRPC_PORT,
      maxRequestBytes(config.MAX_PATTERN_BYTES),
    );
    this.poller.start();
    this.forgetter.start();
    logger.info('registry started', { grpc: `${config.GRPC_HOST}:${this.grpc.port}`, http: `${config.HTTP_HOST}:${httpPort}`, tokenRequired: config.REGISTRATION_TOKEN !== undefined });
    if (config.REGISTRATION_TOKEN === undefined) {
      logger.warn('REGISTRATION_TOKEN is not set: any caller that reaches the gRPC port may register a downloader, or re-register one under its name and take its links; set it, or keep the port reachable only from the downloaders', { grpc: `${config.GRPC_HOST}:${this.grpc.port}` });
    }
    return { grpcPort: this.grpc.port, httpPort };
  }

  /** Finishes registrations in flight, stops polling, then closes the ops endpoints. */
  async stop(): Promise<void> {
    this.grpc?.markNotServing();
    await Promise.all([this.grpc?.stop(this.deps.config.SHUTDOWN_TIMEOUT_S / 2), this.poller.stop(), this.forgetter.stop()]);
    this.downloaders.close();
    await this.ops.stop();
  }

  /** Runs one round of health checks now (tests, and operators through a future admin call). */
  pollHealth(): Promise<void> {
    return this.poller.pollOnce();
  }

  /** Forgets silent downloaders now (tests). */
  forgetSilent(): Promise<Downloader[]> {
    return this.forgetter.forgetOnce();
  }

  /**
   * The table is the truth and the event only a nudge to the other services, so a failed
   * publish is logged and the registration still succeeds.
   */
  private async announce(downloader: Downloader, change: DownloaderChanged['change']): Promise<void> {
    try {
      await this.deps.publisher.publish(downloaderChanged, { ...routeOf(downloader), change });
    } catch (err) {
      this.deps.logger.warn('cannot publish downloader.changed', { downloader: downloader.name, change, error: errorMessage(err) });
    }
  }
}

/**
 * The largest RegisterDownloader request the server reads: the largest name, and raw patterns
 * several times MAX_PATTERN_BYTES (as sent they may be URLs, spaced, repeated, before clean-up
 * keeps their hosts). Anything larger is junk, refused by grpc-js before it is decoded.
 */
export function maxRequestBytes(maxPatternBytes: number): number {
  return 8 * 1024 + 4 * maxPatternBytes;
}
