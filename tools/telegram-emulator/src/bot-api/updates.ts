import { type BotState, clone, type ParkedPoll, type WebhookConfig } from '../state/world';
import type { Update, WebhookInfo } from '../types';
import { badRequest, conflict } from './api-error';
import { DescribedResult, type MethodContext, type MethodHandler } from './method-context';

/**
 * getUpdates with Telegram's long polling: answer at once when updates are queued, otherwise
 * hold the request until one arrives or `timeout` seconds pass. Only one getUpdates may wait at
 * a time: a newer one terminates the older with 409, which is how Telegram reports two bot
 * instances polling the same token.
 */
const getUpdates: MethodHandler = (ctx) => {
  const { bot, params, signal, events } = ctx;
  if (bot.webhook) throw conflict("can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
  const offset = params.integer('offset');
  const limit = Math.min(100, Math.max(1, params.integer('limit') ?? 100));
  const timeout = Math.max(0, params.integer('timeout') ?? 0);

  bot.poll?.terminate(conflict('terminated by other getUpdates request; make sure that only one bot instance is running'));
  if (offset !== undefined) bot.updates.confirm(offset);
  const ready = bot.updates.peek(limit);
  if (ready.length > 0 || timeout === 0 || signal.aborted) return clone(ready);

  return new Promise<Update[]>((resolve, reject) => {
    let settled = false;
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      bot.updates.off('push', onPush);
      signal.removeEventListener('abort', onAbort);
      if (bot.poll === parked) delete bot.poll;
    };
    const parked: ParkedPoll = {
      release() {
        if (settled) return;
        finish();
        resolve(clone(bot.updates.peek(limit)));
      },
      terminate(error) {
        if (settled) return;
        finish();
        reject(error);
      },
    };
    // Answer after the current synchronous work, so updates pushed together arrive together.
    const onPush = () => queueMicrotask(() => parked.release());
    const onAbort = () => parked.release();
    const timer = setTimeout(() => parked.release(), timeout * 1000);
    bot.updates.on('push', onPush);
    signal.addEventListener('abort', onAbort);
    bot.poll = parked;
    events.emit('poll', { botId: bot.id });
  });
};

const SECRET_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

function removeWebhook(ctx: MethodContext): DescribedResult {
  const { bot, params } = ctx;
  if (params.boolean('drop_pending_updates')) bot.updates.clear();
  if (!bot.webhook) return new DescribedResult(true, 'Webhook is already deleted');
  bot.webhook.sink.stop();
  delete bot.webhook;
  return new DescribedResult(true, 'Webhook was deleted');
}

/**
 * setWebhook. Unlike Telegram, plain http:// URLs are accepted (test servers have no
 * certificates); https:// ones are delivered as the emulator's options say.
 */
const setWebhook: MethodHandler = (ctx) => {
  const { bot, params } = ctx;
  const url = params.string('url') ?? '';
  if (url === '') return removeWebhook(ctx);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest('bad webhook: Failed to resolve host: Name or service not known');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw badRequest('bad webhook: An HTTPS URL must be provided for webhook');
  const secretToken = params.string('secret_token');
  if (secretToken !== undefined && !SECRET_TOKEN.test(secretToken)) throw badRequest('secret token contains unallowed characters');
  const maxConnections = params.integer('max_connections') ?? 40;
  if (maxConnections < 1 || maxConnections > 100) throw badRequest('bad webhook: max_connections must be between 1 and 100');
  const allowedUpdates = params.json('allowed_updates', "can't parse allowed updates JSON object");
  const ipAddress = params.string('ip_address');

  if (params.boolean('drop_pending_updates')) bot.updates.clear();
  const config: WebhookConfig = {
    url,
    maxConnections,
    ...(secretToken ? { secretToken } : {}),
    ...(ipAddress ? { ipAddress } : {}),
    ...(Array.isArray(allowedUpdates) ? { allowedUpdates: allowedUpdates.map(String) } : {}),
  };
  const current = bot.webhook;
  if (current && current.url === config.url && current.secretToken === config.secretToken && current.maxConnections === config.maxConnections) {
    return new DescribedResult(true, 'Webhook is already set');
  }
  current?.sink.stop();
  bot.poll?.terminate(conflict('terminated by setWebhook request'));
  bot.webhook = { ...config, sink: { stop() {} } };
  bot.webhook.sink = ctx.startWebhook(bot, bot.webhook);
  return new DescribedResult(true, 'Webhook was set');
};

const deleteWebhook: MethodHandler = (ctx) => removeWebhook(ctx);

/** getWebhookInfo's answer for a bot. */
export function webhookInfoOf(bot: BotState): WebhookInfo {
  const webhook = bot.webhook;
  if (!webhook) return { url: '', has_custom_certificate: false, pending_update_count: bot.updates.size };
  return {
    url: webhook.url,
    has_custom_certificate: false,
    pending_update_count: bot.updates.size,
    ...(webhook.ipAddress ? { ip_address: webhook.ipAddress } : {}),
    ...(webhook.lastErrorDate !== undefined ? { last_error_date: webhook.lastErrorDate, last_error_message: webhook.lastErrorMessage ?? '' } : {}),
    max_connections: webhook.maxConnections,
    ...(webhook.allowedUpdates ? { allowed_updates: webhook.allowedUpdates } : {}),
  };
}

const getWebhookInfo: MethodHandler = ({ bot }) => webhookInfoOf(bot);

export const UPDATE_METHODS: Record<string, MethodHandler> = { getUpdates, setWebhook, deleteWebhook, getWebhookInfo };
