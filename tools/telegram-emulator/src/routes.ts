import type { ApiReply } from './bot-api/bot-api';
import type { Fault } from './bot-api/faults';
import type { TelegramEmulator } from './emulator';
import { BodyParseError, parseParams } from './http/request-params';
import { type RouteHandler, type RouteRequest, Router } from './http/router';
import type { WebChatEvent } from './web-chat/chat-feed';
import { webAsset, WEB_ASSETS } from './web-chat/assets';
import { openEventStream } from './web-chat/event-stream';
import { errorMessage } from '@dwld/errors';

/**
 * Every HTTP route the emulator serves, in one place: the Bot API (`/bot<token>/<method>`), the
 * test-control API under `/__emulator/`, and the web chat page (`/`, its files and its stream).
 */
export function createRouter(
  emulator: TelegramEmulator,
  callApi: (token: string, method: string, params: Record<string, unknown>, signal: AbortSignal) => Promise<ApiReply>,
  /** Aborted when the emulator stops: event streams end then. */
  stopSignal?: AbortSignal,
): Router {
  // Telegram answers unknown paths with its JSON 404.
  const router = new Router(() => ({ status: 404, statusText: 'Not Found', json: { ok: false, error_code: 404, description: 'Not Found' } }));

  router.add('*', /^\/bot(?<token>[^/]*)\/(?:test\/)?(?<method>[^/]*)\/?$/, async (request) => {
    let params: Record<string, unknown>;
    try {
      params = parseParams(request.headers['content-type'], await request.body(), request.query);
    } catch (err) {
      if (!(err instanceof BodyParseError)) throw err;
      return { status: 400, statusText: 'Bad Request', json: { ok: false, error_code: 400, description: `Bad Request: ${err.message}` } };
    }
    const reply = await callApi(request.params.token ?? '', request.params.method ?? '', params, request.signal);
    return { status: reply.status, statusText: reply.statusText, json: reply.body };
  });

  const control = (method: 'GET' | 'POST', path: string, handler: (request: RouteRequest, body: Record<string, unknown>) => unknown) => {
    const route: RouteHandler = async (request) => {
      try {
        const body = method === 'POST' ? await jsonBody(request) : {};
        return { json: (await handler(request, body)) ?? { ok: true } };
      } catch (err) {
        return { status: 400, json: { error: errorMessage(err) } };
      }
    };
    router.add(method, `/__emulator${path}`, route);
  };

  const botOf = (request: RouteRequest) => request.query.get('bot') ?? undefined;
  const idOf = (request: RouteRequest) => integer(request.params.id, 'id');
  const userOf = (request: RouteRequest, body: Record<string, unknown>) =>
    emulator.user({
      id: idOf(request),
      ...pick(body, ['firstName', 'lastName', 'username', 'languageCode', 'phone']),
      ...(botOf(request) ? { bot: botOf(request) } : {}),
    });

  // The web chat page: its files, and the stream of one person's chat (first event: a snapshot).
  for (const path of Object.keys(WEB_ASSETS)) router.get(path, () => webAsset(path));
  router.get('/favicon.ico', () => ({ status: 204 }));
  router.get('/__emulator/stream', (request) => {
    let chatId: number;
    let bot: string | undefined;
    try {
      chatId = integer(request.query.get('chat'), 'chat');
      bot = botOf(request);
      // Refuses an unknown person or bot before the stream starts.
      emulator.chatSnapshot(chatId, bot);
    } catch (err) {
      return { status: 404, json: { error: errorMessage(err) } };
    }
    openEventStream<WebChatEvent>(
      request.response,
      (send) => {
        send({ type: 'snapshot', ...emulator.chatSnapshot(chatId, bot) });
        return emulator.watchChat(chatId, send, bot);
      },
      stopSignal ? { signal: stopSignal } : {},
    );
    return undefined;
  });
  control('GET', '/people', () => emulator.people());
  control('POST', '/people', (_request, body) =>
    emulator.addPerson({ id: integer(body.id, 'id'), ...pick(body, ['firstName', 'lastName', 'username', 'languageCode', 'phone', 'label']) }),
  );

  control('GET', '/bots', () => emulator.bots());
  control('POST', '/users', (_request, body) => emulator.user({ id: integer(body.id, 'id'), ...pick(body, ['firstName', 'lastName', 'username', 'languageCode', 'phone']) }).profile);
  control('POST', '/users/:id/messages', (request, body) => userOf(request, body).sendText(string(body.text, 'text')));
  control('POST', '/users/:id/edits', (request, body) => userOf(request, body).editText(integer(body.messageId, 'messageId'), string(body.text, 'text')));
  control('POST', '/users/:id/keyboard', (request, body) => userOf(request, body).pressKeyboardButton(string(body.text, 'text')));
  // The body is the card, not the sender: its firstName must not rename them.
  control('POST', '/users/:id/contact', (request, body) => userOf(request, {}).sendContact(pick(body, ['phoneNumber', 'userId', 'firstName', 'lastName'])));
  control('POST', '/users/:id/callback', (request, body) => {
    const user = userOf(request, {});
    const messageId = integer(body.messageId, 'messageId');
    const data = string(body.data, 'data');
    const { id, update } = body.forged === true ? user.forgedCallback(messageId, data) : user.pressButton(messageId, data);
    return { id, update };
  });
  control('GET', '/callbacks/:id/answer', (request) => emulator.waitForCallbackAnswer(request.params.id ?? '', timeoutOf(request)));
  control('GET', '/chats/:id/messages', (request) => emulator.chatMessages(idOf(request), botOf(request)));
  control('GET', '/chats/:id/bot-messages/next', (request) =>
    emulator.botMessageAfter(idOf(request), integer(request.query.get('after') ?? '0', 'after'), timeoutOf(request), botOf(request)),
  );
  control('GET', '/calls', (request) => emulator.calls(request.query.get('method') ?? undefined));
  control('POST', '/faults', (_request, body) => {
    const { method = '*', count = 1, untilCleared, hang, afterRunning, ...fault } = body;
    if (hang === true) emulator.hang(string(method, 'method'), { afterRunning: afterRunning === true });
    else if (untilCleared === true) emulator.failUntilCleared(string(method, 'method'), fault as unknown as Fault);
    else emulator.failNext(string(method, 'method'), fault as unknown as Fault, integer(count, 'count'));
  });
  control('POST', '/faults/clear', () => emulator.clearFaults());
  control('GET', '/hung-calls', (request) => emulator.hungCalls(request.query.get('method') ?? undefined));
  control('POST', '/flood-limits', (_request, body) => {
    if (body.off === true) return emulator.setFloodLimits(undefined);
    const limits = { ...(body.perSecond !== undefined ? { perSecond: integer(body.perSecond, 'perSecond') } : {}), ...(body.chatIntervalMs !== undefined ? { chatIntervalMs: integer(body.chatIntervalMs, 'chatIntervalMs') } : {}) };
    emulator.setFloodLimits(limits);
  });
  control('POST', '/latency', (_request, body) => emulator.setLatency(integer(body.ms, 'ms')));
  control('POST', '/reset', () => emulator.reset());

  return router;
}

async function jsonBody(request: RouteRequest): Promise<Record<string, unknown>> {
  const raw = await request.body();
  if (raw.length === 0) return {};
  const parsed: unknown = JSON.parse(raw.toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('The body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function integer(value: unknown, name: string): number {
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number)) throw new Error(`${name} must be an integer`);
  return number;
}

function string(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new Error(`${name} must be a string`);
  return value;
}

function timeoutOf(request: RouteRequest): number {
  return integer(request.query.get('timeoutMs') ?? '10000', 'timeoutMs');
}

function pick<K extends string>(body: Record<string, unknown>, keys: K[]): Partial<Record<K, any>> {
  return Object.fromEntries(keys.filter((key) => body[key] !== undefined).map((key) => [key, body[key]])) as Partial<Record<K, any>>;
}
