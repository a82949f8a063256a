import { serveDownloader, type RunningServer } from '@dwld/contract';
import type { Logger } from '@dwld/logger';
import { Counter, Gauge, OpsServer, createMetricsRegistry, type Registry } from '@dwld/runtime';
import { advertisedHost, type SimConfig } from './config';
import { ConnectionFront } from './connection-front';
import { controlRoutes, type SimControl } from './control';
import { DownloadQueue } from './download-queue';
import { GoFlavour } from './go-flavour';
import { ModeSwitch, type Mode, type ModeState } from './mode';
import { Registrar, type RegistrationState } from './registrar';
import { SimulatedDownloader, type ReceivedRequest } from './simulated-downloader';
import { MIB } from './simulation';

export interface SimDeps {
  config: SimConfig;
  logger: Logger;
  /** The simulation's clock (ms since the epoch); tests inject one to move time by hand. */
  now?: () => number;
  /** First retry after a failed registration (doubling up to REGISTER_INTERVAL_S); default 1 s. */
  registerRetryMs?: number;
  /** How long after start a registry that does not answer is only logged at debug (it may be starting too); default 10 s. */
  registryGraceMs?: number;
}

/** How long after start a registry that does not answer yet is not worth a warning. */
export const REGISTRY_GRACE_MS = 10_000;

/**
 * A simulated downloader: serves grpc.v1.Downloader with downloads that progress with the
 * clock, registers with the registry at start and every REGISTER_INTERVAL_S, and can be told
 * to fail, refuse or hang through its control endpoints (or these methods).
 */
export class DownloaderSimApp implements SimControl {
  readonly metrics: Registry;
  readonly queue: DownloadQueue;
  private readonly modes: ModeSwitch;
  private readonly downloader: SimulatedDownloader;
  private readonly registrar: Registrar;
  private readonly ops: OpsServer;
  /** Set with FLAVOUR=go: it then serves and registers instead of `downloader` and `registrar`. */
  private readonly go: GoFlavour | undefined;
  /** The gRPC server itself, on a loopback port of its own; callers reach it through `front`. */
  private grpc: RunningServer | undefined;
  private front: ConnectionFront | undefined;

  constructor(private readonly deps: SimDeps) {
    const { config, logger, now } = deps;
    this.metrics = createMetricsRegistry('downloader-sim');
    const calls = new Counter({ name: 'dwld_sim_set_to_queue_total', help: 'SetToQueue calls received, by outcome', labelNames: ['outcome'], registers: [this.metrics] });
    const registrations = new Counter({ name: 'dwld_sim_registrations_total', help: 'Registration attempts, by outcome', labelNames: ['outcome'], registers: [this.metrics] });
    this.queue = new DownloadQueue({ durationMs: config.DOWNLOAD_SECONDS, sizeBytes: config.DOWNLOAD_SIZE_MB * MIB, concurrency: config.CONCURRENT_DOWNLOADS, now });
    const queue = this.queue;
    new Gauge({
      name: 'dwld_sim_downloads',
      help: 'Simulated downloads, by status',
      labelNames: ['status'],
      registers: [this.metrics],
      collect() {
        for (const [status, count] of Object.entries(queue.counts())) this.set({ status }, count);
      },
    });
    this.modes = new ModeSwitch(config.MODE);
    this.downloader = new SimulatedDownloader({
      name: config.SIM_NAME,
      queue: this.queue,
      modes: this.modes,
      slots: config.CONCURRENT_DOWNLOADS,
      logger,
      now,
      onSetToQueue: (outcome) => calls.inc({ outcome }),
      cutConnections: () => this.cutConnections(),
      lateReplyMs: config.LATE_REPLY_S,
    });
    this.registrar = new Registrar({
      target: config.REGISTRY_ADDRESS,
      token: config.REGISTRATION_TOKEN,
      intervalMs: config.REGISTER_INTERVAL_S,
      retryMinMs: Math.min(deps.registerRetryMs ?? 1000, config.REGISTER_INTERVAL_S),
      graceMs: deps.registryGraceMs ?? REGISTRY_GRACE_MS,
      logger,
      paused: () => this.modes.current().mode === 'fail',
      request: () => ({ serverName: config.SIM_NAME, allowedRootLinks: config.PATTERNS, serverHost: advertisedHost(config), serverPort: this.grpcPort() }),
      onAttempt: (outcome) => registrations.inc({ outcome }),
    });
    this.go = config.FLAVOUR === 'go' ? new GoFlavour(config, logger, () => this.cutConnections()) : undefined;
    this.ops = new OpsServer({
      host: config.HTTP_HOST,
      port: config.HTTP_PORT,
      metrics: this.metrics,
      logger,
      readiness: [{ name: 'grpc', check: async () => this.grpc !== undefined }],
      routes: controlRoutes(this),
    });
  }

  /**
   * Serves gRPC (behind a relay whose connections mode cut can cut) and the ops endpoints, then
   * starts registering; resolves with the bound ports.
   */
  async start(): Promise<{ grpcPort: number; httpPort: number }> {
    const { config, logger } = this.deps;
    this.grpc = await serveDownloader((this.go ?? this.downloader).handlers(), '127.0.0.1', 0);
    let httpPort: number;
    try {
      this.front = new ConnectionFront(this.grpc.port);
      await this.front.start(config.GRPC_HOST, config.GRPC_PORT);
      httpPort = await this.ops.start();
    } catch (err) {
      await this.front?.stop();
      await this.grpc.stop(0);
      this.grpc = undefined;
      this.front = undefined;
      throw err;
    }
    const port = this.front.port;
    if (this.go) this.go.start(port);
    else this.registrar.start();
    logger.info('downloader-sim started', {
      name: config.SIM_NAME,
      flavour: config.FLAVOUR,
      grpc: `${config.GRPC_HOST}:${port}`,
      advertised: `${advertisedHost(config)}:${port}`,
      http: `${config.HTTP_HOST}:${httpPort}`,
      registry: config.REGISTRY_ADDRESS,
      patterns: this.go ? config.ASSIGN.split(',') : config.PATTERNS,
      mode: config.MODE,
    });
    return { grpcPort: port, httpPort };
  }

  /** Stops re-registering, answers calls held by hang mode, stops the gRPC server, then the ops endpoints. */
  async stop(): Promise<void> {
    await this.registrar.stop();
    await this.go?.stop();
    this.downloader.releaseHung();
    const [grpc, front] = [this.grpc, this.front];
    this.grpc = undefined;
    this.front = undefined;
    await grpc?.stop(Math.max(100, this.deps.config.SHUTDOWN_TIMEOUT_S / 2));
    await front?.stop();
    await this.ops.stop();
  }

  // ---- control (also served as POST /mode, GET /mode, GET /received, POST /reset) ----

  setMode(mode: Mode, count?: number, message?: string): ModeState {
    const wasDown = this.modes.current().mode === 'fail';
    this.go?.apply(mode, count, message);
    const state = this.modes.set(mode, count, message);
    this.deps.logger.info('mode changed', { ...state });
    this.announceIfBack(wasDown);
    return state;
  }

  mode(): ModeState {
    return this.modes.state();
  }

  received(): ReceivedRequest[] {
    return this.go ? this.go.received() : this.downloader.received();
  }

  reset(): void {
    const wasDown = this.modes.current().mode === 'fail';
    this.downloader.reset();
    this.go?.reset();
    this.deps.logger.info('reset', { ...this.modes.state() });
    this.announceIfBack(wasDown);
  }

  // ---- registration ----

  /** Registers now (operators and tests need not wait for the interval); nothing once stopped. */
  registerNow(): Promise<void> {
    // FLAVOUR=go: once more, as restarting a Go downloader by hand would.
    if (this.go) return this.front ? this.go.registerNow(this.front.port) : Promise.resolve();
    return this.registrar.registerNow();
  }

  /** `registered`, the gRPC status name of the last failed attempt, or undefined before any answer. */
  registrationState(): RegistrationState | undefined {
    return this.go ? this.go.registrationState() : this.registrar.state();
  }

  /**
   * In the standing fail mode it acts as down and does not re-register (a registration would
   * mark it healthy again at the registry); once it is back it registers at once.
   */
  private announceIfBack(wasDown: boolean): void {
    if (wasDown && this.modes.current().mode !== 'fail' && this.grpc) void this.registrar.registerNow();
  }

  private grpcPort(): number {
    if (!this.front) throw new Error('the gRPC server is not running');
    return this.front.port;
  }

  /** Mode cut: every connection to the gRPC port is reset, as a network path that drops would. */
  private cutConnections(): void {
    const cut = this.front?.cutAll() ?? 0;
    this.deps.logger.info('connections cut (mode cut)', { connections: cut });
  }
}
