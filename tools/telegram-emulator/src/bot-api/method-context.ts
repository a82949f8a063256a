import type { EventEmitter } from 'node:events';
import type { BotState, UpdateSink, WebhookConfig, World } from '../state/world';
import type { Params } from './params';

/** What a Bot API method works with. */
export interface MethodContext {
  world: World;
  bot: BotState;
  params: Params;
  /** Aborted when the caller hangs up or the emulator stops (ends long polls). */
  signal: AbortSignal;
  /** The emulator, for the events methods announce ('callbackAnswer', 'poll'). */
  events: EventEmitter;
  /** Starts pushing the bot's updates to its webhook. */
  startWebhook(bot: BotState, config: WebhookConfig): UpdateSink;
}

export type MethodHandler = (ctx: MethodContext) => unknown;

/** A successful answer that, like some of Telegram's, also carries a description ("Webhook was set"). */
export class DescribedResult {
  constructor(
    readonly result: unknown,
    readonly description: string,
  ) {}
}
