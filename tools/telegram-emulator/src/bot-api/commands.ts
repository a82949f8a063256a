import type { BotCommand } from '../types';
import { badRequest } from './api-error';
import type { MethodContext, MethodHandler } from './method-context';
import { isRecord } from './params';

const SCOPE_TYPES = new Set(['default', 'all_private_chats', 'all_group_chats', 'all_chat_administrators', 'chat', 'chat_administrators', 'chat_member']);

/** The key a command list is stored under: Telegram keeps one list per scope and language. */
export function commandScopeKey(scope: unknown, languageCode: string | undefined): string {
  const value = scope ?? { type: 'default' };
  if (!isRecord(value) || typeof value.type !== 'string' || !SCOPE_TYPES.has(value.type)) throw badRequest("can't parse BotCommandScope JSON object");
  if (languageCode && !/^[a-z]{2}$/.test(languageCode)) throw badRequest('invalid language code specified');
  const needsChat = value.type === 'chat' || value.type === 'chat_administrators' || value.type === 'chat_member';
  if (needsChat && value.chat_id === undefined) throw badRequest('chat_id is empty');
  if (value.type === 'chat_member' && value.user_id === undefined) throw badRequest('user_id is empty');
  const parts = [value.type, needsChat ? String(value.chat_id) : '', value.type === 'chat_member' ? String(value.user_id) : ''];
  return `${parts.join(':')}|${languageCode ?? ''}`;
}

function keyFromParams({ params }: MethodContext): string {
  return commandScopeKey(params.json('scope', "can't parse BotCommandScope JSON object"), params.string('language_code'));
}

function parseCommands(value: unknown): BotCommand[] {
  if (!Array.isArray(value)) throw badRequest("can't parse commands JSON object");
  if (value.length > 100) throw badRequest('too many commands specified');
  return value.map((item) => {
    if (!isRecord(item) || typeof item.command !== 'string' || typeof item.description !== 'string') throw badRequest("can't parse BotCommand JSON object");
    const command = item.command.replace(/^\//, '');
    if (!/^[a-z0-9_]{1,32}$/.test(command)) throw badRequest('BOT_COMMAND_INVALID');
    const description = item.description.trim();
    if (description.length < 1 || description.length > 256) throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
    return { command, description };
  });
}

const setMyCommands: MethodHandler = (ctx) => {
  const commands = parseCommands(ctx.params.json('commands', "can't parse commands JSON object"));
  const key = keyFromParams(ctx);
  if (commands.length === 0) ctx.bot.commands.delete(key);
  else ctx.bot.commands.set(key, commands);
  return true;
};

const getMyCommands: MethodHandler = (ctx) => structuredClone(ctx.bot.commands.get(keyFromParams(ctx)) ?? []);

const deleteMyCommands: MethodHandler = (ctx) => {
  ctx.bot.commands.delete(keyFromParams(ctx));
  return true;
};

export const COMMAND_METHODS: Record<string, MethodHandler> = { setMyCommands, getMyCommands, deleteMyCommands };
