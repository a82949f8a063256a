import type { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { BotState, WebhookConfig, World } from '../state/world';
import type { ApiResponse, Update } from '../types';
import { ApiError, STATUS_TEXT } from './api-error';
import type { FaultSwitches } from './faults';
import { DescribedResult, type MethodContext } from './method-context';
import { METHODS } from './methods';
import { Params } from './params';
import { WebhookDelivery, type WebhookDeliveryOptions } from './webhook-delivery';
import { errorMessage } from '@dwld/errors';

/** One Bot API call as the emulator received and answered it. */
export interface CallRecord {
  /** The method's canonical name ("sendMessage"), or the name as sent when unknown. */
  method: string;
  params: Record<string, unknown>;
  /** When it arrived (ms since the epoch). */
  at: number;
  response: ApiResponse;
  /** The bot whose token was used; absent when the token was refused. */
  botId?: number;
  /** 'webhook-reply': the bot answered a webhook request with this call. */
  source: 'http' | 'webhook-reply';
}

export interface ApiReply {
  status: number;
  statusText: string;
  body: ApiResponse;
}

export interface BotApiDeps {
  world: World;
  events: EventEmitter;
  faults: FaultSwitches;
  latencyMs(): number;
  /** Aborted when the emulator stops. */
  stopSignal(): AbortSignal;
  webhook: WebhookDeliveryOptions;
  record(call: CallRecord): void;
}

function errorReply(error: ApiError): ApiReply {
  return {
    status: error.errorCode,
    statusText: STATUS_TEXT[error.errorCode] ?? 'Error',
    body: { ok: false, error_code: error.errorCode, description: error.description, ...(error.parameters ? { parameters: error.parameters } : {}) },
  };
}

/** Answers Bot API calls: token check, fault injection, latency, the method itself, the call log. */
export class BotApi {
  constructor(private readonly deps: BotApiDeps) {}

  async invoke(token: string, methodName: string, values: Record<string, unknown>, options: { signal?: AbortSignal; source?: CallRecord['source'] } = {}): Promise<ApiReply> {
    const at = Date.now();
    const source = options.source ?? 'http';
    const stopSignal = this.deps.stopSignal();
    const signal = options.signal ? AbortSignal.any([options.signal, stopSignal]) : stopSignal;
    const bot = this.deps.world.botForToken(token);
    const method = METHODS.get(methodName.toLowerCase());
    const reply = await this.answer(bot, method, values, signal, source);
    const call: CallRecord = { method: method?.name ?? methodName, params: values, at, response: reply.body, source, ...(bot ? { botId: bot.id } : {}) };
    this.deps.record(call);
    return reply;
  }

  private async answer(
    bot: BotState | undefined,
    method: { name: string; handler: (ctx: MethodContext) => unknown } | undefined,
    values: Record<string, unknown>,
    signal: AbortSignal,
    source: CallRecord['source'],
  ): Promise<ApiReply> {
    if (!bot) return errorReply(new ApiError(401, 'Unauthorized'));
    if (!method) return errorReply(new ApiError(404, 'Not Found'));
    const latency = this.deps.latencyMs();
    if (latency > 0 && source === 'http') await delay(latency, undefined, { signal }).catch(() => undefined);
    const fault = this.deps.faults.take(method.name);
    if (fault) return errorReply(fault);
    try {
      const result = await method.handler({
        world: this.deps.world,
        bot,
        params: new Params(values),
        signal,
        events: this.deps.events,
        startWebhook: (target, config) => this.startWebhook(target, config),
      });
      const body: ApiResponse = result instanceof DescribedResult ? { ok: true, result: result.result, description: result.description } : { ok: true, result };
      return { status: 200, statusText: 'OK', body };
    } catch (err) {
      if (err instanceof ApiError) return errorReply(err);
      // A bug in the emulator: answer like Telegram's own failures, but say what happened.
      return errorReply(new ApiError(500, `Internal Server Error: ${errorMessage(err)}`));
    }
  }

  /** Starts delivering a bot's updates to its webhook; replies the bot sends back are run as calls. */
  startWebhook(bot: BotState, config: WebhookConfig): WebhookDelivery {
    return new WebhookDelivery(bot, config, this.deps.webhook, this.deliveryHooks);
  }

  private readonly deliveryHooks = {
    runReply: (bot: BotState, method: string, params: Record<string, unknown>) => {
      void this.invoke(bot.token, method, params, { source: 'webhook-reply' });
    },
    delivered: (bot: BotState, update: Update) => {
      this.deps.events.emit('webhookDelivered', { botId: bot.id, update });
    },
    failed: (bot: BotState, update: Update, error: string) => {
      this.deps.events.emit('webhookFailed', { botId: bot.id, update, error });
    },
  };
}
