import type { CallbackAnswer } from '../types';
import { badRequest } from './api-error';
import type { MethodHandler } from './method-context';

export const MAX_CALLBACK_ANSWER_LENGTH = 200;

const QUERY_INVALID = 'query is too old and response timeout expired or query ID is invalid';

/** answerCallbackQuery: a query exists only if a person pressed a button, and is answered once. */
const answerCallbackQuery: MethodHandler = ({ world, bot, params, events }) => {
  const id = params.string('callback_query_id') ?? '';
  const query = world.callbackQueries.get(id);
  if (!query || query.botId !== bot.id || query.answer) throw badRequest(QUERY_INVALID);
  const text = params.string('text');
  if (text !== undefined && text.length > MAX_CALLBACK_ANSWER_LENGTH) throw badRequest('MESSAGE_TOO_LONG');
  const showAlert = params.boolean('show_alert');
  const url = params.string('url');
  const cacheTime = params.integer('cache_time');
  const answer: CallbackAnswer = {
    ...(text !== undefined ? { text } : {}),
    ...(showAlert !== undefined ? { show_alert: showAlert } : {}),
    ...(url !== undefined ? { url } : {}),
    ...(cacheTime !== undefined ? { cache_time: cacheTime } : {}),
  };
  query.answer = answer;
  events.emit('callbackAnswer', { id, botId: bot.id, answer: structuredClone(answer) });
  return true;
};

export const CALLBACK_METHODS: Record<string, MethodHandler> = { answerCallbackQuery };
