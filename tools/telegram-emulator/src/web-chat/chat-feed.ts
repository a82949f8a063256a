import type { EventEmitter } from 'node:events';
import { type BotState, type ChatEvent, clone, type World } from '../state/world';
import type { CallbackAnswer, Message, ReplyKeyboardMarkup, User } from '../types';
import type { Person } from './people';

/** Everything the web chat shows of one person's private chat with a bot, at one moment. */
export interface ChatSnapshot {
  /** The bot of this chat; null while no bot exists yet. */
  bot: User | null;
  bots: User[];
  person: Person;
  /** Both directions, in id order. */
  messages: Message[];
  replyKeyboard: ReplyKeyboardMarkup | null;
}

/** What the chat page is told, over Server-Sent Events (the SSE event name is `type`). */
export type WebChatEvent =
  /** Sent first, and again whenever the whole picture may have changed (reset, a new bot). */
  | ({ type: 'snapshot' } & ChatSnapshot)
  | { type: 'message'; message: Message }
  | { type: 'edit'; message: Message }
  | { type: 'delete'; messageId: number }
  | { type: 'keyboard'; replyKeyboard: ReplyKeyboardMarkup | null }
  | { type: 'callbackAnswer'; callbackQueryId: string; messageId: number; answer: CallbackAnswer };

/** The chat's bot: the one named, else the first one (undefined while there is none). */
export function chatBot(world: World, bot: number | string | undefined): BotState | undefined {
  if (bot !== undefined) return world.resolveBot(bot);
  const first = world.bots.values().next();
  return first.done ? undefined : first.value;
}

export function chatSnapshot(world: World, person: Person, bot: number | string | undefined): ChatSnapshot {
  const state = chatBot(world, bot);
  // A person who never wrote is unknown to the bot: their chat is empty and not created here.
  const chat = state && world.users.has(person.id) ? world.chat(state, person.id) : undefined;
  return {
    bot: state ? clone(state.user) : null,
    bots: [...world.bots.values()].map((b) => clone(b.user)),
    person: { ...person },
    messages: chat ? [...chat.messages.values()].sort((a, b) => a.message_id - b.message_id).map(clone) : [],
    replyKeyboard: chat?.replyKeyboard ? clone(chat.replyKeyboard) : null,
  };
}

function fromChatEvent(event: ChatEvent): WebChatEvent {
  switch (event.kind) {
    case 'message':
    case 'edit':
      return { type: event.kind, message: event.message };
    case 'delete':
      return { type: 'delete', messageId: event.messageId };
    case 'keyboard':
      return { type: 'keyboard', replyKeyboard: event.replyKeyboard ?? null };
  }
}

/**
 * Calls `listener` with every change of one person's chat with a bot (the first bot when none is
 * named, decided at each event, so a page opened before the bot exists follows it once it does).
 * Returns the function that stops listening. Listeners run inside Bot API calls: they must not throw.
 */
export function watchChat(world: World, events: EventEmitter, options: { person: () => Person; bot: number | string | undefined }, listener: (event: WebChatEvent) => void): () => void {
  const { bot } = options;
  const botId = () => chatBot(world, bot)?.id;
  const chatId = options.person().id;
  const onChat = (event: ChatEvent) => {
    if (event.chatId === chatId && event.botId === botId()) listener(fromChatEvent(event));
  };
  const onAnswer = (event: { id: string; botId: number; answer: CallbackAnswer }) => {
    const query = world.callbackQueries.get(event.id);
    if (query && query.chatId === chatId && event.botId === botId()) listener({ type: 'callbackAnswer', callbackQueryId: event.id, messageId: query.messageId, answer: event.answer });
  };
  const resync = () => listener({ type: 'snapshot', ...chatSnapshot(world, options.person(), bot) });
  events.on('chat', onChat);
  events.on('callbackAnswer', onAnswer);
  events.on('bot', resync);
  events.on('reset', resync);
  return () => {
    events.off('chat', onChat);
    events.off('callbackAnswer', onAnswer);
    events.off('bot', resync);
    events.off('reset', resync);
  };
}
