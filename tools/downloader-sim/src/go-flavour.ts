import * as grpc from '@grpc/grpc-js';
import type { DownloaderHandlers } from '@dwld/contract';
import { GoDownloader, registerOnce, type GoCall } from '@dwld/go-downloader';
import type { Logger } from '@dwld/logger';
import { advertisedHost, type SimConfig } from './config';
import type { Mode } from './mode';
import type { ReceivedRequest, SetToQueueOutcome } from './simulated-downloader';
import type { RegistrationState } from './registrar';

/** What a refusal says when no message is given: a failure the Go downloader can answer (it only ever answers UNKNOWN). */
export const GO_REFUSAL = 'SetToQueue: SetToQueue: insert new link: query (exec): database is locked';

/**
 * FLAVOUR=go: the simulated downloader behaves as the deployed Go one (@dwld/go-downloader):
 * its answers, statuses (one step every DOWNLOAD_SECONDS) and errors, and one registration at
 * start with the raw ASSIGN string and the advertised host as is, never repeated. Modes map to
 * what a Go downloader can do: refuse → UNKNOWN with the message, hang → replies lost, ok →
 * none of these; fail (acting down) has no Go counterpart here and is refused.
 */
export class GoFlavour {
  readonly downloader: GoDownloader;
  private registration: Promise<void> | undefined;
  private state: RegistrationState | undefined;

  constructor(
    private readonly config: SimConfig,
    private readonly logger: Logger,
  ) {
    this.downloader = new GoDownloader({ workMs: Math.max(50, config.DOWNLOAD_SECONDS), fileSizeMb: config.DOWNLOAD_SIZE_MB });
    this.apply(config.MODE);
  }

  handlers(): DownloaderHandlers {
    return this.downloader.handlers();
  }

  /** Starts the downloads' clock and registers once, in the background (as the Go one does in a goroutine). */
  start(port: number): void {
    this.downloader.startWorking();
    this.registration = this.registerOnce(port);
  }

  async stop(): Promise<void> {
    this.downloader.stopWorking();
    this.downloader.releaseHeld();
    await this.registration;
  }

  /** One more registration, as an operator restarting a Go downloader would cause. */
  registerNow(port: number): Promise<void> {
    this.registration = this.registerOnce(port);
    return this.registration;
  }

  registrationState(): RegistrationState | undefined {
    return this.state;
  }

  /** Throws for a mode a Go downloader has no counterpart of (before anything changes). */
  apply(mode: Mode, count?: number, message?: string): void {
    const go = this.downloader;
    switch (mode) {
      case 'ok':
        if (count === undefined) go.clearFaults();
        break;
      case 'refuse':
        if (count === undefined) go.alwaysFail(message ?? GO_REFUSAL);
        else go.failNext(count, message ?? GO_REFUSAL);
        break;
      case 'hang':
        go.loseReplies(count ?? Number.MAX_SAFE_INTEGER);
        break;
      case 'fail':
        throw new RangeError('mode fail is not available with FLAVOUR=go: a Go downloader that is down is simply not running');
    }
  }

  received(): ReceivedRequest[] {
    return this.downloader.calls('SetToQueue').map(toReceived);
  }

  reset(): void {
    this.downloader.reset();
    this.apply(this.config.MODE);
  }

  private async registerOnce(port: number): Promise<void> {
    const { config, logger } = this;
    const result = await registerOnce({ registryAddress: config.REGISTRY_ADDRESS, name: config.SIM_NAME, assign: config.ASSIGN, host: advertisedHost(config), port, deadlineMs: 10_000 });
    const details = { registry: config.REGISTRY_ADDRESS, name: config.SIM_NAME, host: result.request.serverHost, port, patterns: result.request.allowedRootLinks };
    if (result.error) {
      this.state = grpc.status[result.error.code] ?? String(result.error.code);
      logger.warn('registration failed; as a Go downloader it will not try again', { ...details, error: result.printed });
    } else {
      this.state = 'registered';
      logger.info('registered with the registry, once (as a Go downloader)', details);
    }
  }
}

const OUTCOMES: Record<GoCall['outcome'], SetToQueueOutcome> = {
  queued: 'queued',
  duplicate: 'duplicate',
  empty: 'invalid',
  failed: 'refused',
  ok: 'queued',
  deleted: 'queued',
  absent: 'queued',
};

function toReceived(call: GoCall): ReceivedRequest {
  return {
    at: new Date(call.at).toISOString(),
    link: call.link ?? '',
    userName: call.userName ?? '',
    ...(call.maxQuality === undefined ? {} : { maxQuality: call.maxQuality }),
    outcome: call.replied ? OUTCOMES[call.outcome] : 'hung',
  };
}
