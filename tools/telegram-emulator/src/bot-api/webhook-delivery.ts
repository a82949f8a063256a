import http from 'node:http';
import https from 'node:https';
import { parseParams } from '../http/request-params';
import { type BotState, nowSeconds, type UpdateSink, type WebhookConfig } from '../state/world';
import type { Update } from '../types';

export interface WebhookDeliveryOptions {
  /** First wait after a failed delivery; it doubles with each failure in a row. */
  retryDelayMs: number;
  maxRetryDelayMs: number;
  /** How long the bot may take to answer one update. */
  timeoutMs: number;
  /** Deliver https:// URLs over plain HTTP: test servers have no certificate, and telegraf's
   * createWebhook always registers an https:// URL. */
  httpsAsHttp: boolean;
}

export interface DeliveryHooks {
  /** Runs a method the bot answered the webhook request with, as Telegram does. */
  runReply(bot: BotState, method: string, params: Record<string, unknown>): void;
  delivered(bot: BotState, update: Update): void;
  failed(bot: BotState, update: Update, error: string): void;
}

type Outcome = { ok: true; contentType: string | undefined; body: Buffer } | { ok: false; error: string };

/**
 * The chat an update belongs to: Telegram's webhook keeps one chat's updates in order, while
 * different chats' updates go out side by side. Updates with no chat share one lane.
 */
function updateLane(update: Update): string {
  const body = update.message ?? update.edited_message ?? update.callback_query?.message;
  if (body?.chat?.id !== undefined) return `chat:${body.chat.id}`;
  if (update.callback_query) return `user:${update.callback_query.from.id}`;
  return 'other';
}

/**
 * Pushes one bot's updates to its webhook as Telegram does: up to `max_connections` requests
 * at once over kept-alive connections, one chat's updates one after another and in order. An
 * update is confirmed only by a 2xx answer, and only once every update before it is too (a
 * later one already answered is not sent again). A failed update is retried after a growing
 * delay, during which nothing new goes out, and the failure is reported by getWebhookInfo
 * (last_error_date, last_error_message).
 */
export class WebhookDelivery implements UpdateSink {
  private stopped = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Map<number, http.ClientRequest>();
  private readonly busyLanes = new Set<string>();
  /** Answered with a 2xx but not yet confirmable: an earlier update is still out. */
  private readonly answered = new Set<number>();
  private readonly agent: http.Agent;
  private readonly kick = () => {
    if (!this.stopped && !this.retryTimer) this.deliverPending();
  };

  constructor(
    private readonly bot: BotState,
    private readonly config: WebhookConfig,
    private readonly options: WebhookDeliveryOptions,
    private readonly hooks: DeliveryHooks,
  ) {
    const agentOptions = { keepAlive: true, maxSockets: config.maxConnections };
    this.agent = this.target().protocol === 'https:' ? new https.Agent({ ...agentOptions, rejectUnauthorized: false }) : new http.Agent(agentOptions);
    bot.updates.on('push', this.kick);
    queueMicrotask(this.kick);
  }

  stop(): void {
    this.stopped = true;
    this.bot.updates.off('push', this.kick);
    clearTimeout(this.retryTimer);
    for (const request of this.inFlight.values()) request.destroy();
    this.inFlight.clear();
    this.agent.destroy();
  }

  /** Starts every pending update that may go out now, oldest first. */
  private deliverPending(): void {
    const room = this.config.maxConnections - this.inFlight.size;
    if (room <= 0) return;
    let started = 0;
    // Updates already out or answered are skipped; a lane's first waiting update holds back
    // the lane's later ones, since scanning goes oldest first.
    for (const update of this.bot.updates.peek(this.bot.updates.size)) {
      if (started === room) return;
      if (this.inFlight.has(update.update_id) || this.answered.has(update.update_id)) continue;
      const lane = updateLane(update);
      if (this.busyLanes.has(lane)) continue;
      this.busyLanes.add(lane);
      started++;
      void this.deliver(update, lane);
    }
  }

  private async deliver(update: Update, lane: string): Promise<void> {
    const outcome = await this.post(update);
    this.busyLanes.delete(lane);
    if (this.stopped) return;
    if (!outcome.ok) {
      this.config.lastErrorDate = nowSeconds();
      this.config.lastErrorMessage = outcome.error;
      this.hooks.failed(this.bot, update, outcome.error);
      if (!this.retryTimer) {
        const delay = Math.min(this.options.retryDelayMs * 2 ** this.failures++, this.options.maxRetryDelayMs);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, delay);
      }
      return;
    }
    this.failures = 0;
    this.answered.add(update.update_id);
    this.confirmAnswered();
    this.hooks.delivered(this.bot, update);
    this.runReply(outcome.contentType, outcome.body);
    this.kick();
  }

  /** Confirms the answered updates at the head of the queue, up to the first still unanswered. */
  private confirmAnswered(): void {
    let offset = 0;
    for (const update of this.bot.updates.peek(this.answered.size)) {
      if (!this.answered.has(update.update_id)) break;
      this.answered.delete(update.update_id);
      offset = update.update_id + 1;
    }
    if (offset > 0) this.bot.updates.confirm(offset);
  }

  private target(): URL {
    const url = new URL(this.config.url);
    if (url.protocol === 'https:' && this.options.httpsAsHttp) url.protocol = 'http:';
    return url;
  }

  /** A webhook may answer with a method call ({"method":"answerCallbackQuery",…}); telegraf does. */
  private runReply(contentType: string | undefined, body: Buffer): void {
    if (body.length === 0) return;
    let params: Record<string, unknown>;
    try {
      params = parseParams(contentType, body, new URLSearchParams());
    } catch {
      return; // Telegram ignores an answer it cannot read.
    }
    const { method, ...rest } = params;
    if (typeof method === 'string' && method) this.hooks.runReply(this.bot, method, rest);
  }

  private post(update: Update): Promise<Outcome> {
    const url = this.target();
    const body = JSON.stringify(update);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (this.config.secretToken) headers['x-telegram-bot-api-secret-token'] = this.config.secretToken;
    const transport = url.protocol === 'https:' ? https : http;

    return new Promise((resolve) => {
      const request = transport.request(url, { method: 'POST', headers, agent: this.agent, timeout: this.options.timeoutMs });
      this.inFlight.set(update.update_id, request);
      const done = (outcome: Outcome) => {
        if (this.inFlight.get(update.update_id) === request) this.inFlight.delete(update.update_id);
        resolve(outcome);
      };
      request.on('timeout', () => request.destroy(new Error('Read timeout expired')));
      request.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, error: err.code === 'ECONNREFUSED' ? 'Connection refused' : err.message }));
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (err) => done({ ok: false, error: err.message }));
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) done({ ok: true, contentType: response.headers['content-type'], body: Buffer.concat(chunks) });
          else done({ ok: false, error: `Wrong response from the webhook: ${status} ${response.statusMessage ?? ''}`.trim() });
        });
      });
      request.end(body);
    });
  }
}
