import type { ChatState } from '../state/world';
import { badRequest, forbidden } from './api-error';
import type { MethodContext } from './method-context';

/**
 * The private chat chat_id names. Only people the emulator knows (who have "started" the bot)
 * have a chat with it; anyone else, and any @username, is "chat not found" as in Telegram.
 */
export function chatFromParams({ world, bot, params }: MethodContext, purpose: 'send' | 'other' = 'other'): ChatState {
  const raw = params.string('chat_id');
  if (raw === undefined || raw === '') throw badRequest('chat_id is empty');
  const chatId = /^-?\d+$/.test(raw.trim()) ? Number(raw) : undefined;
  const chat = chatId === undefined ? undefined : world.chat(bot, chatId);
  if (!chat) throw badRequest('chat not found');
  if (purpose === 'send' && chat.blocked) throw forbidden('bot was blocked by the user');
  return chat;
}

export function messageIdFromParams({ params }: MethodContext, field = 'message_id'): number {
  const messageId = params.integer(field, 'message identifier is not specified');
  if (messageId === undefined) throw badRequest('message identifier is not specified');
  return messageId;
}
