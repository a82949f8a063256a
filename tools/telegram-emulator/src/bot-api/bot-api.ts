import type { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { BotState, WebhookConfig, World } from '../state/world';
import type { ApiResponse, Update } from '../types';
import { ApiError, STATUS_TEXT } from './api-error';
import type { FaultSwitches } from './faults';
import type { FloodControl } from './flood-control';
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

/** A call held by a hang fault: accepted, not answered (yet: never). */
export interface HungCall {
  method: string;
  params: Record<string, unknown>;
  /** When it arrived (ms since the epoch). */
  at: number;
  botId: number;
  /** Whether the method was carried out before the answer was held back. */
  ran: boolean;
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
  flood: FloodControl;
  latencyMs(): number;
  /** Aborted when the emulator stops. */
  stopSignal(): AbortSignal;
  webhook: WebhookDeliveryOptions;
  record(call: CallRecord): void;
  /** A call is being held by a hang fault; the returned function is called when it ends. */
  hung(call: HungCall): () => void;
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
    const answer = await this.answer(bot, method, values, signal, source);
    const record = (reply: ApiReply) => {
      this.deps.record({ method: method?.name ?? methodName, params: values, at, response: reply.body, source, ...(bot ? { botId: bot.id } : {}) });
    };
    if (!('hang' in answer)) {
      record(answer);
      return answer;
    }
    // Held: a call carried out is in the log (its effect happened); one that was not never is.
    if (answer.ran) record(answer.reply);
    const ended = this.deps.hung({ method: method!.name, params: values, at, botId: bot!.id, ran: answer.ran });
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    ended();
    // Nobody reads this: the bot hung up or the emulator stopped.
    return errorReply(new ApiError(504, 'Gateway Timeout'));
  }

  private async answer(
    bot: BotState | undefined,
    method: { name: string; handler: (ctx: MethodContext) => unknown } | undefined,
    values: Record<string, unknown>,
    signal: AbortSignal,
    source: CallRecord['source'],
  ): Promise<ApiReply | { hang: true; ran: boolean; reply: ApiReply }> {
    if (!bot) return errorReply(new ApiError(401, 'Unauthorized'));
    if (!method) return errorReply(new ApiError(404, 'Not Found'));
    const latency = this.deps.latencyMs();
    if (latency > 0 && source === 'http') await delay(latency, undefined, { signal }).catch(() => undefined);
    const fault = this.deps.faults.take(method.name);
    if (fault?.kind === 'error') return errorReply(fault.error);
    if (fault?.kind === 'hang' && !fault.afterRunning) return { hang: true, ran: false, reply: errorReply(new ApiError(504, 'Gateway Timeout')) };
    const limited = this.deps.flood.admit(bot.id, method.name, values);
    if (limited) return errorReply(limited);
    const reply = await this.run(bot, method, values, signal);
    return fault?.kind === 'hang' ? { hang: true, ran: true, reply } : reply;
  }

  private async run(bot: BotState, method: { name: string; handler: (ctx: MethodContext) => unknown }, values: Record<string, unknown>, signal: AbortSignal): Promise<ApiReply> {
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
