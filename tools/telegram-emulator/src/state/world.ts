import type { EventEmitter } from 'node:events';
import type { BotCommand, CallbackAnswer, Message, PrivateChat, ReplyKeyboardMarkup, User } from '../types';
import { IdCounters, idKeys } from './id-counters';
import { UpdateQueue } from './update-queue';

export interface UserProfile {
  id: number;
  firstName: string;
  lastName?: string;
  username?: string;
  languageCode?: string;
  phone?: string;
}

export interface BotProfile {
  firstName?: string;
  username?: string;
}

export interface WebhookConfig {
  url: string;
  secretToken?: string;
  maxConnections: number;
  ipAddress?: string;
  allowedUpdates?: string[];
  lastErrorDate?: number;
  lastErrorMessage?: string;
}

/** Something that delivers a bot's updates to its webhook until stopped. */
export interface UpdateSink {
  stop(): void;
}

/** A getUpdates request parked until an update arrives. */
export interface ParkedPoll {
  /** Answers it with what is queued now. */
  release(): void;
  /** Answers it with an error (another getUpdates or setWebhook took over). */
  terminate(error: Error): void;
}

export interface BotState {
  id: number;
  token: string;
  user: User;
  updates: UpdateQueue;
  poll?: ParkedPoll;
  webhook?: WebhookConfig & { sink: UpdateSink };
  /** setMyCommands lists, keyed by scope and language. */
  commands: Map<string, BotCommand[]>;
}

export interface ChatState {
  bot: BotState;
  user: UserProfile;
  chat: PrivateChat;
  /** Current messages by id; deleted ones are removed. */
  messages: Map<number, Message>;
  /** The custom keyboard the person currently sees, if the bot sent one. */
  replyKeyboard?: ReplyKeyboardMarkup;
  lastChatAction?: { action: string; at: number };
  /** The person blocked the bot: sending fails with 403. */
  blocked: boolean;
}

export interface CallbackQueryState {
  id: string;
  botId: number;
  chatId: number;
  messageId: number;
  data: string;
  answer?: CallbackAnswer;
}

/** How a conversation changed, for listeners (tests, the web chat page). */
export type ChatEvent =
  | { kind: 'message'; botId: number; chatId: number; message: Message }
  | { kind: 'edit'; botId: number; chatId: number; message: Message }
  | { kind: 'delete'; botId: number; chatId: number; messageId: number }
  /** The bot sent a custom keyboard (or removed it: no `replyKeyboard`). */
  | { kind: 'keyboard'; botId: number; chatId: number; replyKeyboard?: ReplyKeyboardMarkup };

export const DEFAULT_BOT_USERNAME = 'dwld_test_bot';
export const DEFAULT_BOT_FIRST_NAME = 'dwld test bot';

const TOKEN_PATTERN = /^(\d{1,15}):([A-Za-z0-9_-]{1,128})$/;

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Everything the emulated Telegram knows: bots, people, their private chats and pending callbacks. */
export class World {
  readonly bots = new Map<number, BotState>();
  readonly users = new Map<number, UserProfile>();
  readonly callbackQueries = new Map<string, CallbackQueryState>();
  private readonly chats = new Map<string, ChatState>();
  /** Update, message and callback query ids: kept apart from the chats so ids are never reused, even after reset(). */
  readonly ids: IdCounters;

  constructor(
    private readonly events: EventEmitter,
    private readonly options: { acceptAnyToken: boolean; botProfile: BotProfile; ids?: IdCounters },
  ) {
    this.ids = options.ids ?? new IdCounters();
  }

  addBot(token: string, profile: BotProfile = {}): BotState {
    const match = TOKEN_PATTERN.exec(token);
    if (!match) throw new Error(`Not a bot token ("<id>:<secret>"): ${token}`);
    const id = Number(match[1]);
    const existing = this.bots.get(id);
    if (existing && existing.token !== token) throw new Error(`Bot ${id} already exists with another token`);
    const bot: BotState = existing ?? { id, token, user: { id, is_bot: true, first_name: '' }, updates: new UpdateQueue(() => this.ids.next(idKeys.update(id))), commands: new Map() };
    const before = JSON.stringify(existing?.user);
    bot.user = {
      id,
      is_bot: true,
      first_name: profile.firstName ?? (existing?.user.first_name || this.options.botProfile.firstName || DEFAULT_BOT_FIRST_NAME),
      username: profile.username ?? existing?.user.username ?? this.options.botProfile.username ?? DEFAULT_BOT_USERNAME,
    };
    this.bots.set(id, bot);
    if (JSON.stringify(bot.user) !== before) this.events.emit('bot', clone(bot.user));
    return bot;
  }

  /** The bot a request's token names: unknown or revoked tokens get nothing (401). */
  botForToken(token: string): BotState | undefined {
    const match = TOKEN_PATTERN.exec(token);
    if (!match) return undefined;
    const bot = this.bots.get(Number(match[1]));
    if (bot) return bot.token === token ? bot : undefined;
    return this.options.acceptAnyToken ? this.addBot(token) : undefined;
  }

  /** The bot people talk to unless told otherwise: the first one registered. */
  defaultBot(): BotState {
    const first = this.bots.values().next();
    if (first.done) throw new Error('No bot yet: pass `bots` to the emulator, call addBot(token), or let the bot call the API first');
    return first.value;
  }

  resolveBot(bot?: number | string): BotState {
    if (bot === undefined) return this.defaultBot();
    const id = typeof bot === 'number' ? bot : Number(bot.split(':')[0]);
    const found = this.bots.get(id);
    if (!found) throw new Error(`Unknown bot ${id}`);
    return found;
  }

  addUser(profile: UserProfile): UserProfile {
    const existing = this.users.get(profile.id);
    const merged = existing ? { ...existing, ...dropUndefined(profile) } : profile;
    this.users.set(profile.id, merged);
    for (const chat of this.chats.values()) {
      if (chat.user.id === profile.id) {
        chat.user = merged;
        chat.chat = privateChatOf(merged);
      }
    }
    return merged;
  }

  userObject(profile: UserProfile): User {
    return {
      id: profile.id,
      is_bot: false,
      first_name: profile.firstName,
      ...(profile.lastName ? { last_name: profile.lastName } : {}),
      ...(profile.username ? { username: profile.username } : {}),
      ...(profile.languageCode ? { language_code: profile.languageCode } : {}),
    };
  }

  /** The private chat between a bot and a person the emulator knows; undefined for anyone else. */
  chat(bot: BotState, chatId: number): ChatState | undefined {
    const key = `${bot.id}:${chatId}`;
    const existing = this.chats.get(key);
    if (existing) return existing;
    const user = this.users.get(chatId);
    if (!user) return undefined;
    const chat: ChatState = { bot, user, chat: privateChatOf(user), messages: new Map(), blocked: false };
    this.chats.set(key, chat);
    return chat;
  }

  /** Adds a message to a chat under the chat's next id (one sequence for both directions). */
  addMessage(chat: ChatState, body: Omit<Message, 'message_id' | 'chat' | 'date'>): Message {
    const messageId = this.ids.next(idKeys.message(chat.bot.id, chat.chat.id));
    const message: Message = { message_id: messageId, ...(body.from ? { from: body.from } : {}), chat: clone(chat.chat), date: nowSeconds(), ...body };
    chat.messages.set(messageId, message);
    this.emitChat({ kind: 'message', botId: chat.bot.id, chatId: chat.chat.id, message: clone(message) });
    return message;
  }

  replaceMessage(chat: ChatState, message: Message): void {
    chat.messages.set(message.message_id, message);
    this.emitChat({ kind: 'edit', botId: chat.bot.id, chatId: chat.chat.id, message: clone(message) });
  }

  deleteMessage(chat: ChatState, messageId: number): boolean {
    if (!chat.messages.delete(messageId)) return false;
    this.emitChat({ kind: 'delete', botId: chat.bot.id, chatId: chat.chat.id, messageId });
    return true;
  }

  /** What the person's keyboard shows from now on: a custom keyboard, or theirs again (undefined). */
  setReplyKeyboard(chat: ChatState, keyboard: ReplyKeyboardMarkup | undefined): void {
    if (keyboard) chat.replyKeyboard = keyboard;
    else delete chat.replyKeyboard;
    this.emitChat({ kind: 'keyboard', botId: chat.bot.id, chatId: chat.chat.id, ...(keyboard ? { replyKeyboard: clone(keyboard) } : {}) });
  }

  addCallbackQuery(query: Omit<CallbackQueryState, 'id'>): CallbackQueryState {
    // Telegram's ids are long decimal strings; unique per emulator is what matters.
    const id = `${query.botId}${String(this.ids.next(idKeys.callback)).padStart(9, '0')}`;
    const state = { id, ...query };
    this.callbackQueries.set(id, state);
    return state;
  }

  /** Every private chat that exists (for the state file). */
  allChats(): ChatState[] {
    return [...this.chats.values()];
  }

  /** Puts back a chat from the state file; its person must be known (users) already. */
  restoreChat(bot: BotState, chatId: number, saved: Pick<ChatState, 'messages' | 'blocked' | 'replyKeyboard' | 'lastChatAction'>): ChatState {
    const user = this.users.get(chatId);
    if (!user) throw new Error(`chat ${bot.id}:${chatId} has no person`);
    const chat: ChatState = { bot, user, chat: privateChatOf(user), ...saved };
    this.chats.set(`${bot.id}:${chatId}`, chat);
    return chat;
  }

  /** Forgets conversations, queued updates, webhooks, commands and callbacks; keeps bots, people and id counters. */
  reset(): void {
    this.chats.clear();
    this.callbackQueries.clear();
    for (const bot of this.bots.values()) {
      bot.updates.clear();
      bot.webhook?.sink.stop();
      delete bot.webhook;
      bot.commands.clear();
    }
  }

  private emitChat(event: ChatEvent): void {
    this.events.emit('chat', event);
  }
}

function privateChatOf(user: UserProfile): PrivateChat {
  return {
    id: user.id,
    type: 'private',
    first_name: user.firstName,
    ...(user.lastName ? { last_name: user.lastName } : {}),
    ...(user.username ? { username: user.username } : {}),
  };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
