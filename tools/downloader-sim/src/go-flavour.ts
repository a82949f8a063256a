import { HeldAnswers } from './held-answers';
import * as grpc from '@grpc/grpc-js';
import type { DownloaderHandlers } from '@dwld/contract';
import { GoDownloader, registerOnce, type GoCall } from '@dwld/go-downloader';
import type { Logger } from '@dwld/logger';
import { advertisedHost, type SimConfig } from './config';
import type { Mode } from './mode';
import type { LostReply, ReceivedRequest, SetToQueueOutcome } from './simulated-downloader';
import type { RegistrationState } from './registrar';

/** What a refusal says when no message is given: a failure the Go downloader can answer (it only ever answers UNKNOWN). */
export const GO_REFUSAL = 'SetToQueue: SetToQueue: insert new link: query (exec): database is locked';

/**
 * FLAVOUR=go: the simulated downloader behaves as the deployed Go one (@dwld/go-downloader):
 * its answers, statuses (one step every DOWNLOAD_SECONDS) and errors, and one registration at
 * start with the raw ASSIGN string and the advertised host as is, never repeated. Modes map to
 * what a Go downloader can do: refuse → UNKNOWN with the message, hang → replies lost, ok →
 * none of these; cut and late happen to its answers on the way (the Go one does its part, then
 * the connection is cut, or the answer held LATE_REPLY_S); fail (acting down) has no Go
 * counterpart here and is refused.
 */
export class GoFlavour {
  readonly downloader: GoDownloader;
  private registration: Promise<void> | undefined;
  private state: RegistrationState | undefined;
  /** Mode cut or late on the way out, for `remaining` more SetToQueue calls. */
  private network: { reply: LostReply; remaining: number } | undefined;
  /** The SetToQueue calls (by their place in the Go one's log) whose answer went astray. */
  private readonly lost = new Map<number, LostReply>();
  private setToQueueCalls = 0;
  private readonly late = new HeldAnswers();

  constructor(
    private readonly config: SimConfig,
    private readonly logger: Logger,
    private readonly cutConnections: () => void = () => undefined,
  ) {
    this.downloader = new GoDownloader({ workMs: Math.max(50, config.DOWNLOAD_SECONDS), fileSizeMb: config.DOWNLOAD_SIZE_MB });
    this.apply(config.MODE);
  }

  handlers(): DownloaderHandlers {
    const handlers = this.downloader.handlers();
    const setToQueue = handlers.SetToQueue;
    return {
      ...handlers,
      SetToQueue: async (request, call) => {
        const index = this.setToQueueCalls++;
        const network = this.network;
        if (network) {
          network.remaining -= 1;
          if (network.remaining <= 0) this.network = undefined;
          this.lost.set(index, network.reply);
        }
        const answer = setToQueue(request, call);
        // The Go one has done its part (inserted, or found it held) whatever it answers.
        await answer.catch(() => undefined);
        if (network?.reply === 'cut') this.cutConnections();
        if (network?.reply === 'late') await this.holdAnswer();
        return answer;
      },
    };
  }

  /** Starts the downloads' clock and registers once, in the background (as the Go one does in a goroutine). */
  start(port: number): void {
    this.downloader.startWorking();
    this.registration = this.registerOnce(port);
  }

  async stop(): Promise<void> {
    this.downloader.stopWorking();
    this.downloader.releaseHeld();
    this.late.releaseAll();
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
      case 'cut':
      case 'late':
        this.network = { reply: mode, remaining: count ?? Number.POSITIVE_INFINITY };
        return;
      case 'fail':
        throw new RangeError('mode fail is not available with FLAVOUR=go: a Go downloader that is down is simply not running');
    }
    if (count === undefined) this.network = undefined;
  }

  received(): ReceivedRequest[] {
    return this.downloader.calls('SetToQueue').map((call, index) => {
      const reply = this.lost.get(index);
      return { ...toReceived(call), ...(reply ? { reply } : {}) };
    });
  }

  reset(): void {
    this.downloader.reset();
    this.lost.clear();
    this.setToQueueCalls = 0;
    this.network = undefined;
    this.apply(this.config.MODE);
  }

  /** Waits LATE_REPLY_S, or until released on stop. */
  private holdAnswer(): Promise<void> {
    return this.late.hold(this.config.LATE_REPLY_S);
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
