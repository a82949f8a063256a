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
 * Pushes one bot's updates to its webhook, one at a time and in order. An update is confirmed
 * only by a 2xx answer; otherwise the same update is retried, with a growing delay, and the
 * failure is reported by getWebhookInfo (last_error_date, last_error_message).
 */
export class WebhookDelivery implements UpdateSink {
  private stopped = false;
  private busy = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private inFlight: http.ClientRequest | undefined;
  private readonly kick = () => {
    if (!this.busy && !this.stopped && !this.retryTimer) void this.deliverPending();
  };

  constructor(
    private readonly bot: BotState,
    private readonly config: WebhookConfig,
    private readonly options: WebhookDeliveryOptions,
    private readonly hooks: DeliveryHooks,
  ) {
    bot.updates.on('push', this.kick);
    queueMicrotask(this.kick);
  }

  stop(): void {
    this.stopped = true;
    this.bot.updates.off('push', this.kick);
    clearTimeout(this.retryTimer);
    this.inFlight?.destroy();
  }

  private async deliverPending(): Promise<void> {
    this.busy = true;
    try {
      while (!this.stopped) {
        const [update] = this.bot.updates.peek(1);
        if (!update) return;
        const outcome = await this.post(update);
        if (this.stopped) return;
        if (!outcome.ok) {
          this.config.lastErrorDate = nowSeconds();
          this.config.lastErrorMessage = outcome.error;
          this.hooks.failed(this.bot, update, outcome.error);
          const delay = Math.min(this.options.retryDelayMs * 2 ** this.failures++, this.options.maxRetryDelayMs);
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.kick();
          }, delay);
          return;
        }
        this.failures = 0;
        this.bot.updates.confirm(update.update_id + 1);
        this.hooks.delivered(this.bot, update);
        this.runReply(outcome.contentType, outcome.body);
      }
    } finally {
      this.busy = false;
    }
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
    const url = new URL(this.config.url);
    if (url.protocol === 'https:' && this.options.httpsAsHttp) url.protocol = 'http:';
    const body = JSON.stringify(update);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (this.config.secretToken) headers['x-telegram-bot-api-secret-token'] = this.config.secretToken;
    const transport = url.protocol === 'https:' ? https : http;

    return new Promise((resolve) => {
      const request = transport.request(url, { method: 'POST', headers, agent: false, timeout: this.options.timeoutMs, rejectUnauthorized: false });
      this.inFlight = request;
      const done = (outcome: Outcome) => {
        if (this.inFlight === request) this.inFlight = undefined;
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
