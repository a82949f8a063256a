import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Update } from 'telegraf/types';
import type { Logger } from '@dwld/logger';
import { readBody, secretMatcher, sendJson, sendTooLarge, type RouteHandler } from '@dwld/runtime';

/** Telegram's updates are a few kB; anything near this is not from Telegram. */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

export interface WebhookOptions {
  /** The secret Telegram was given with setWebhook and sends back in every request's header. */
  secret: string;
  /** Handles one update; the response is ended (empty 200) once it returns. */
  handleUpdate: (update: Update, res: ServerResponse) => Promise<void>;
  logger: Logger;
}

/**
 * The route Telegram posts updates to. Telegraf's own webhookCallback would do, but it builds a
 * `debug` logger (and asks whether stdout is a terminal) and hashes the expected secret on every
 * request: about a twentieth of the gateway's CPU per webhook update in a CPU profile here.
 */
export function webhookRoute(options: WebhookOptions): RouteHandler {
  const { logger, handleUpdate } = options;
  const secretMatches = secretMatcher(options.secret);
  return async (req: IncomingMessage, res: ServerResponse) => {
    const remote = req.socket.remoteAddress;
    // Only Telegram knows the secret: anything else posting here is refused before parsing.
    if (!secretMatches(String(req.headers[SECRET_HEADER] ?? ''))) {
      logger.warn('webhook request refused: missing or wrong secret header', { remote });
      return sendJson(res, 403, { error: 'forbidden' });
    }
    const body = await readBody(req, WEBHOOK_BODY_LIMIT);
    if (body === null) {
      logger.warn('webhook request refused: body too large', { remote });
      return sendTooLarge(req, res, { error: `the body is over ${WEBHOOK_BODY_LIMIT} bytes` });
    }
    const update = parseUpdate(body);
    if (!update) {
      logger.warn('webhook request refused: not an update', { remote, bytes: body.length });
      return sendJson(res, 400, { error: 'the body is not a Telegram update (JSON with an integer update_id)' });
    }
    await handleUpdate(update, res);
    if (!res.writableEnded) res.end();
  };
}

/** The update in a webhook body, or null when it is not JSON or has no integer update_id. */
export function parseUpdate(body: Buffer): Update | null {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const id = (value as { update_id?: unknown }).update_id;
  return Number.isSafeInteger(id) ? (value as Update) : null;
}
