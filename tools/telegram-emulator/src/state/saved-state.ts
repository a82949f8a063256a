import type { BotCommand, Message, ReplyKeyboardMarkup, Update, User } from '../types';
import type { Person } from '../web-chat/people';
import { idKeys } from './id-counters';
import type { BotState, CallbackQueryState, UserProfile, WebhookConfig, World } from './world';

/**
 * What the state file holds: what Telegram's servers would still know after a restart (bots,
 * people, every chat's current messages, pending updates, webhooks, commands, unanswered
 * callback queries) and, above all, how far each id sequence got, so no id is handed out twice.
 */
export interface SavedState {
  format: typeof STATE_FORMAT;
  version: 1;
  /** Per id sequence (see idKeys): every id up to this value may have been handed out. */
  ids: Record<string, number>;
  /**
   * Where sequences this file does not list yet (a new chat, a new bot) start: chosen at random
   * when the file was created, so a world started afresh (the file deleted) does not hand out
   * ids a bot may still hold from the one before. Absent in files written before it was kept: 0.
   */
  idOrigin?: number;
  bots: SavedBot[];
  users: UserProfile[];
  /** People added at run time (addPerson, POST /__emulator/people). */
  people: Person[];
  chats: SavedChat[];
  callbackQueries: CallbackQueryState[];
}

export interface SavedBot {
  token: string;
  user: User;
  commands: Array<[string, BotCommand[]]>;
  webhook?: WebhookConfig;
  /** Updates the bot has not confirmed yet, oldest first. */
  pendingUpdates: Update[];
}

export interface SavedChat {
  botId: number;
  chatId: number;
  messages: Message[];
  replyKeyboard?: ReplyKeyboardMarkup;
  blocked: boolean;
  lastChatAction?: { action: string; at: number };
}

export const STATE_FORMAT = 'dwld-telegram-emulator-state';

/** Everything but the ids, as it is now. */
export function captureWorld(world: World, people: Iterable<Person>): Omit<SavedState, 'format' | 'version' | 'ids'> {
  return {
    bots: [...world.bots.values()].map((bot) => {
      const webhook = bot.webhook ? withoutSink(bot.webhook) : undefined;
      return { token: bot.token, user: bot.user, commands: [...bot.commands.entries()], ...(webhook ? { webhook } : {}), pendingUpdates: bot.updates.all() };
    }),
    users: [...world.users.values()],
    people: [...people],
    chats: world.allChats().map((chat) => ({
      botId: chat.bot.id,
      chatId: chat.chat.id,
      messages: [...chat.messages.values()].sort((a, b) => a.message_id - b.message_id),
      ...(chat.replyKeyboard ? { replyKeyboard: chat.replyKeyboard } : {}),
      blocked: chat.blocked,
      ...(chat.lastChatAction ? { lastChatAction: chat.lastChatAction } : {}),
    })),
    // An answered query can be neither answered again nor pressed again: only open ones matter.
    callbackQueries: [...world.callbackQueries.values()].filter((query) => !query.answer),
  };
}

function withoutSink(webhook: NonNullable<BotState['webhook']>): WebhookConfig {
  const { sink: _sink, ...config } = webhook;
  return config;
}

/**
 * Puts a saved state back into a fresh world. Bots the host configured keep their token (a
 * changed token is a revoked one: the bot and its chats stay) and profile; the others come back
 * as they were. Returns the people added at run time.
 */
export function restoreState(world: World, saved: SavedState): Person[] {
  for (const [key, id] of Object.entries(saved.ids)) world.ids.continueAfter(key, id);
  for (const profile of saved.users) world.users.set(profile.id, profile);
  for (const stored of saved.bots) {
    const existing = world.bots.get(stored.user.id);
    const bot = existing ?? world.addBot(stored.token, { firstName: stored.user.first_name, ...(stored.user.username ? { username: stored.user.username } : {}) });
    if (!existing) bot.user = stored.user;
    for (const [key, commands] of stored.commands) bot.commands.set(key, commands);
    // Started by the emulator's start(), as webhooks set before a stop() are.
    if (stored.webhook) bot.webhook = { ...stored.webhook, sink: { stop() {} } };
    bot.updates.restore(stored.pendingUpdates);
    // Whatever the file says, never below an id that is in it.
    for (const update of stored.pendingUpdates) world.ids.continueAfter(idKeys.update(bot.id), update.update_id);
  }
  for (const stored of saved.chats) {
    const bot = world.bots.get(stored.botId)!;
    world.restoreChat(bot, stored.chatId, {
      messages: new Map(stored.messages.map((message) => [message.message_id, message])),
      blocked: stored.blocked,
      ...(stored.replyKeyboard ? { replyKeyboard: stored.replyKeyboard } : {}),
      ...(stored.lastChatAction ? { lastChatAction: stored.lastChatAction } : {}),
    });
    const last = stored.messages.at(-1);
    if (last) world.ids.continueAfter(idKeys.message(stored.botId, stored.chatId), last.message_id);
  }
  for (const query of saved.callbackQueries) world.callbackQueries.set(query.id, query);
  return saved.people;
}

/** Why a file is not a state file this emulator can use (the message says what is wrong). */
export class InvalidStateError extends Error {}

/** Checks a parsed state file; throws InvalidStateError naming the first problem. */
export function validateState(value: unknown): SavedState {
  const fail = (what: string): never => {
    throw new InvalidStateError(what);
  };
  const record = (v: unknown, what: string): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(`${what} is not an object`));
  const array = (v: unknown, what: string): unknown[] => (Array.isArray(v) ? v : fail(`${what} is not a list`));
  const integer = (v: unknown, what: string): number => (Number.isSafeInteger(v) ? (v as number) : fail(`${what} is not an integer`));
  const string = (v: unknown, what: string): string => (typeof v === 'string' ? v : fail(`${what} is not a string`));

  const root = record(value, 'the file');
  if (root.format !== STATE_FORMAT) fail(`"format" is not "${STATE_FORMAT}"`);
  if (root.version !== 1) fail(`version ${JSON.stringify(root.version)} is not 1`);
  if (root.idOrigin !== undefined && integer(root.idOrigin, 'idOrigin') < 0) fail('idOrigin is negative');
  for (const [key, id] of Object.entries(record(root.ids, 'ids'))) {
    if (!/^(update:\d+|message:\d+:-?\d+|callback)$/.test(key)) fail(`ids has an unknown sequence "${key}"`);
    if (integer(id, `ids["${key}"]`) < 0) fail(`ids["${key}"] is negative`);
  }
  const botIds = new Set<number>();
  array(root.bots, 'bots').forEach((raw, i) => {
    const bot = record(raw, `bots[${i}]`);
    const match = /^(\d{1,15}):[A-Za-z0-9_-]{1,128}$/.exec(string(bot.token, `bots[${i}].token`));
    if (!match) fail(`bots[${i}].token is not a bot token`);
    const user = record(bot.user, `bots[${i}].user`);
    if (integer(user.id, `bots[${i}].user.id`) !== Number(match![1])) fail(`bots[${i}].user.id is not the token's bot id`);
    string(user.first_name, `bots[${i}].user.first_name`);
    botIds.add(user.id as number);
    array(bot.commands, `bots[${i}].commands`).forEach((entry, j) => {
      const pair = array(entry, `bots[${i}].commands[${j}]`);
      string(pair[0], `bots[${i}].commands[${j}][0]`);
      array(pair[1], `bots[${i}].commands[${j}][1]`);
    });
    if (bot.webhook !== undefined) {
      const webhook = record(bot.webhook, `bots[${i}].webhook`);
      string(webhook.url, `bots[${i}].webhook.url`);
      integer(webhook.maxConnections, `bots[${i}].webhook.maxConnections`);
    }
    array(bot.pendingUpdates, `bots[${i}].pendingUpdates`).forEach((update, j) => integer(record(update, `bots[${i}].pendingUpdates[${j}]`).update_id, `bots[${i}].pendingUpdates[${j}].update_id`));
  });
  const userIds = new Set<number>();
  array(root.users, 'users').forEach((raw, i) => {
    const user = record(raw, `users[${i}]`);
    userIds.add(integer(user.id, `users[${i}].id`));
    string(user.firstName, `users[${i}].firstName`);
  });
  array(root.people, 'people').forEach((raw, i) => {
    const person = record(raw, `people[${i}]`);
    integer(person.id, `people[${i}].id`);
    string(person.firstName, `people[${i}].firstName`);
    string(person.label, `people[${i}].label`);
  });
  array(root.chats, 'chats').forEach((raw, i) => {
    const chat = record(raw, `chats[${i}]`);
    if (!botIds.has(integer(chat.botId, `chats[${i}].botId`))) fail(`chats[${i}].botId is no bot of the file`);
    if (!userIds.has(integer(chat.chatId, `chats[${i}].chatId`))) fail(`chats[${i}].chatId is no user of the file`);
    let previous = 0;
    array(chat.messages, `chats[${i}].messages`).forEach((message, j) => {
      const id = integer(record(message, `chats[${i}].messages[${j}]`).message_id, `chats[${i}].messages[${j}].message_id`);
      if (id <= previous) fail(`chats[${i}].messages are not in increasing id order`);
      previous = id;
    });
    if (typeof chat.blocked !== 'boolean') fail(`chats[${i}].blocked is not true or false`);
    if (chat.replyKeyboard !== undefined) array(record(chat.replyKeyboard, `chats[${i}].replyKeyboard`).keyboard, `chats[${i}].replyKeyboard.keyboard`);
  });
  array(root.callbackQueries, 'callbackQueries').forEach((raw, i) => {
    const query = record(raw, `callbackQueries[${i}]`);
    string(query.id, `callbackQueries[${i}].id`);
    integer(query.botId, `callbackQueries[${i}].botId`);
    integer(query.chatId, `callbackQueries[${i}].chatId`);
    integer(query.messageId, `callbackQueries[${i}].messageId`);
    string(query.data, `callbackQueries[${i}].data`);
  });
  return root as unknown as SavedState;
}
