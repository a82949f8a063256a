import { HeldAnswers } from './held-answers';
import * as grpc from '@grpc/grpc-js';
import { GrpcStatusError, type DownloaderHandlers, type SetToQueueRequest } from '@dwld/contract';
import type { Logger } from '@dwld/logger';
import type { DownloadQueue } from './download-queue';
import type { Behaviour, ModeSwitch } from './mode';
import { isDownloadableLink, sensorsLine } from './simulation';

/** What became of one SetToQueue call. */
export type SetToQueueOutcome = 'queued' | 'duplicate' | 'invalid' | 'failed' | 'refused' | 'hung';

/** What became of a SetToQueue answer that did not simply go back: its connection was cut, or it was held past LATE_REPLY_S. */
export type LostReply = 'cut' | 'late';

/** One SetToQueue call as received, for tests and operators (GET /received). */
export interface ReceivedRequest {
  /** ISO time of arrival. */
  at: string;
  link: string;
  userName: string;
  /** Absent when the caller sent none (the field has presence on the wire). */
  maxQuality?: number;
  outcome: SetToQueueOutcome;
  /** Set when the answer was cut off or held back (modes cut and late); the outcome still happened. */
  reply?: LostReply;
}

export interface SimulatedDownloaderOptions {
  name: string;
  queue: DownloadQueue;
  modes: ModeSwitch;
  slots: number;
  logger: Logger;
  now?: () => number;
  /** Oldest received requests are forgotten beyond this many. */
  maxReceived?: number;
  onSetToQueue?: (outcome: SetToQueueOutcome) => void;
  /** Cuts the connections calls arrive on (mode cut). */
  cutConnections?: () => void;
  /** How long mode late holds an answer (LATE_REPLY_S). */
  lateReplyMs?: number;
}

/**
 * grpc.v1.Downloader as a simulation: the handlers, the log of received SetToQueue calls and
 * the calls held open by `hang`. No sockets here; the app serves `handlers()`.
 */
export class SimulatedDownloader {
  private readonly now: () => number;
  private log: ReceivedRequest[] = [];
  /** Releases of the SetToQueue calls held open by hang mode. */
  private readonly hung = new Set<(err: GrpcStatusError) => void>();
  /** Answers held back by late mode, each sent early on release. */
  private readonly late = new HeldAnswers();

  constructor(private readonly options: SimulatedDownloaderOptions) {
    this.now = options.now ?? Date.now;
  }

  handlers(): DownloaderHandlers {
    const { queue, modes, name, logger } = this.options;
    return {
      SetToQueue: async (request, call) => {
        const behaviour = modes.take();
        const outcome = this.outcomeOf(behaviour, request);
        const reply = behaviour.mode === 'cut' || behaviour.mode === 'late' ? behaviour.mode : undefined;
        this.record(request, outcome, reply);
        this.options.onSetToQueue?.(outcome);
        logger.info('SetToQueue', { link: request.link, userName: request.userName, maxQuality: request.maxQuality, outcome, ...(reply ? { reply } : {}) });
        // The link is taken (or refused as usual); only its answer goes astray.
        if (reply === 'cut') this.options.cutConnections?.();
        if (reply === 'late') await this.holdAnswer();
        switch (outcome) {
          case 'failed':
            throw this.failure(behaviour);
          case 'refused':
            throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, behaviour.message ?? `${name} refuses this link (simulated refusal)`);
          case 'hung':
            return this.hang(call);
          case 'invalid':
            throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'link must be an http or https URL');
          default:
            // 'duplicate' is answered like 'queued': a dispatcher may retry a call whose answer it lost.
            return { linksInWork: queue.tasksInWork() };
        }
      },
      DeleteFromQueue: async (request) => {
        this.failIfDown();
        if (request.link === '') throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'link is required');
        if (queue.remove(request.link)) logger.info('link removed', { link: request.link });
        return { linksInWork: queue.tasksInWork() };
      },
      CleanHistory: async () => {
        this.failIfDown();
        const history = queue.cleanHistory();
        logger.info('history cleaned', { count: history.length });
        return { history };
      },
      Status: async () => {
        this.failIfDown();
        const linksInWork = queue.onWork();
        return { linksInWork, sensors: sensorsLine({ busy: queue.counts().downloading, slots: this.options.slots, storedBytes: queue.storedBytes() }) };
      },
      Queue: async () => {
        this.failIfDown();
        return { queue: queue.allTasks() };
      },
      Healtheck: async () => {
        this.failIfDown();
        return { message: `ok ${name}` };
      },
    };
  }

  /** Every SetToQueue call received since start (or the last reset), oldest first. */
  received(): ReceivedRequest[] {
    return this.log.map((r) => ({ ...r }));
  }

  /** Forgets received calls and downloads, and puts the configured mode back. */
  reset(): void {
    this.log = [];
    this.options.queue.clear();
    this.options.modes.reset();
  }

  /** Answers every call held open by hang mode with UNAVAILABLE, and late mode's at once (on stop, so the server can close). */
  releaseHung(): void {
    for (const release of [...this.hung]) release(new GrpcStatusError(grpc.status.UNAVAILABLE, `${this.options.name} is stopping`));
    this.late.releaseAll();
  }

  private outcomeOf(behaviour: Behaviour, request: SetToQueueRequest): SetToQueueOutcome {
    switch (behaviour.mode) {
      case 'fail':
        return 'failed';
      case 'refuse':
        return 'refused';
      case 'hang':
        return 'hung';
      default:
        // ok, cut and late: the link is taken.
        if (!isDownloadableLink(request.link)) return 'invalid';
        return this.options.queue.add({ link: request.link, userName: request.userName, ...(request.maxQuality === undefined ? {} : { maxQuality: request.maxQuality }) }) ? 'queued' : 'duplicate';
    }
  }

  private record(request: SetToQueueRequest, outcome: SetToQueueOutcome, reply?: LostReply): void {
    this.log.push({
      at: new Date(this.now()).toISOString(),
      link: request.link,
      userName: request.userName,
      ...(request.maxQuality === undefined ? {} : { maxQuality: request.maxQuality }),
      outcome,
      ...(reply ? { reply } : {}),
    });
    const max = this.options.maxReceived ?? 10_000;
    if (this.log.length > max) this.log.splice(0, this.log.length - max);
  }

  private failure(behaviour: Behaviour): GrpcStatusError {
    return new GrpcStatusError(grpc.status.UNAVAILABLE, behaviour.message ?? `${this.options.name} is unavailable (simulated failure)`);
  }

  /** In the standing fail mode the downloader acts as down: every rpc answers UNAVAILABLE. */
  private failIfDown(): void {
    const behaviour = this.options.modes.current();
    if (behaviour.mode === 'fail') throw this.failure(behaviour);
  }

  /** Waits LATE_REPLY_S, or until released on stop. */
  private holdAnswer(): Promise<void> {
    return this.late.hold(this.options.lateReplyMs ?? 10_000);
  }

  /** Never answers: settles only when the caller gives up (deadline, cancel) or on releaseHung. */
  private hang(call: grpc.ServerUnaryCall<unknown, unknown>): Promise<never> {
    return new Promise<never>((_resolve, reject) => {
      const release = (err: GrpcStatusError) => {
        this.hung.delete(release);
        call.removeListener('cancelled', onCancelled);
        reject(err);
      };
      // The answer to a cancelled call goes nowhere; this only lets the handler finish.
      const onCancelled = () => release(new GrpcStatusError(grpc.status.CANCELLED, 'the caller gave up'));
      this.hung.add(release);
      if (call.cancelled) onCancelled();
      else call.on('cancelled', onCancelled);
    });
  }
}
