import type { EventEmitter } from 'node:events';
import { MAX_MESSAGE_LENGTH } from './bot-api/message-text';
import { type BotState, type CallbackQueryState, type ChatEvent, type ChatState, clone, nowSeconds, type UserProfile, type World } from './state/world';
import { detectEntities, trimFormatted } from './text/entities';
import type { CallbackAnswer, InaccessibleMessage, Message, ReplyKeyboardMarkup, Update } from './types';
import { waitForEvent } from './wait-for-event';

/** What a FakeUser needs from the emulator. */
export interface FakeUserHost {
  readonly world: World;
  readonly events: EventEmitter;
  pushUpdate(bot: BotState, body: Omit<Update, 'update_id'>): Update;
  /** State changed without an event (the state file catches up). */
  changed(): void;
}

export interface ContactCard {
  /** Defaults to the person's own `phone`. */
  phoneNumber?: string;
  /**
   * Defaults to the person's own id; another id is someone else's card (a forwarded contact),
   * null a card of someone not on Telegram (no user_id).
   */
  userId?: number | null;
  firstName?: string;
  lastName?: string;
}

/** A pressed inline button: the callback query sent to the bot and, once it answers, the answer. */
export interface CallbackQueryHandle {
  id: string;
  update: Update;
  /** Resolves when the bot calls answerCallbackQuery for this query. */
  answer(timeoutMs?: number): Promise<CallbackAnswer>;
}

const DEFAULT_WAIT_MS = 10_000;

/**
 * A person in their private chat with a bot (chat id = user id), doing what a Telegram client
 * lets them do; each action becomes an update for the bot. Actions run synchronously, so a test
 * can start waiting for the bot's answer right after, without a race.
 */
export class FakeUser {
  constructor(
    private readonly host: FakeUserHost,
    readonly id: number,
    private readonly botRef?: number | string,
  ) {}

  get chatId(): number {
    return this.id;
  }

  get profile(): UserProfile {
    const profile = this.host.world.users.get(this.id);
    if (!profile) throw new Error(`User ${this.id} is not registered`);
    return { ...profile };
  }

  /** The bot this person talks to. */
  get bot(): BotState {
    return this.host.world.resolveBot(this.botRef);
  }

  sendText(text: string): Message {
    const { text: trimmed } = trimFormatted({ text, entities: [] });
    if (trimmed.length === 0) throw new Error('A Telegram client sends no empty message');
    if (trimmed.length > MAX_MESSAGE_LENGTH) throw new Error(`A message holds at most ${MAX_MESSAGE_LENGTH} characters`);
    const entities = detectEntities(trimmed);
    return this.send({ text: trimmed, ...(entities.length ? { entities } : {}) });
  }

  sendContact(card: ContactCard = {}): Message {
    const userId = card.userId === undefined ? this.id : card.userId;
    const own = userId === this.id;
    const phone = card.phoneNumber ?? (own ? this.profile.phone : undefined);
    if (!phone) throw new Error('sendContact needs a phoneNumber (or the user created with `phone`)');
    const firstName = card.firstName ?? (own ? this.profile.firstName : 'Contact');
    const lastName = card.lastName ?? (own ? this.profile.lastName : undefined);
    return this.send({
      contact: { phone_number: phone, first_name: firstName, ...(lastName ? { last_name: lastName } : {}), ...(userId !== null ? { user_id: userId } : {}) },
    });
  }

  /** Presses a button of the custom (reply) keyboard the bot shows: sends its text, or the contact it requests. */
  pressKeyboardButton(text: string): Message {
    const button = this.replyKeyboard()?.keyboard.flat().find((b) => b.text === text);
    if (!button) throw new Error(`No keyboard button "${text}" is shown to user ${this.id}`);
    return button.request_contact ? this.sendContact() : this.sendText(text);
  }

  /** Edits one of this person's own text messages (an edited_message update). */
  editText(messageId: number, text: string): Message {
    const chat = this.chat();
    const message = chat.messages.get(messageId);
    if (!message || message.from?.id !== this.id || message.text === undefined) throw new Error(`User ${this.id} has no text message ${messageId} to edit`);
    const trimmed = text.trim();
    if (trimmed.length === 0 || trimmed.length > MAX_MESSAGE_LENGTH) throw new Error('An edited message needs 1-4096 characters');
    const edited: Message = { ...clone(message), text: trimmed, edit_date: nowSeconds() };
    delete edited.entities;
    const entities = detectEntities(trimmed);
    if (entities.length) edited.entities = entities;
    this.host.world.replaceMessage(chat, edited);
    this.host.pushUpdate(chat.bot, { edited_message: clone(edited) });
    return clone(edited);
  }

  /** Presses an inline button of a bot message; throws when the message has no button with that data. */
  pressButton(messageId: number, callbackData: string): CallbackQueryHandle {
    const message = this.chat().messages.get(messageId);
    if (!message) throw new Error(`Message ${messageId} is not in the chat of user ${this.id}`);
    const buttons = message.reply_markup?.inline_keyboard.flat() ?? [];
    if (!buttons.some((button) => button.callback_data === callbackData)) throw new Error(`Message ${messageId} has no button with callback_data "${callbackData}"`);
    return this.callback(messageId, callbackData);
  }

  /** A callback query whose data no button carries (a modified client); the message may even be gone. */
  forgedCallback(messageId: number, data: string): CallbackQueryHandle {
    return this.callback(messageId, data);
  }

  /** The chat as the person sees it: both directions, current text and keyboards, in id order. */
  messages(): Message[] {
    return [...this.chat().messages.values()].sort((a, b) => a.message_id - b.message_id).map(clone);
  }

  botMessages(): Message[] {
    return this.messages().filter((message) => message.from?.is_bot);
  }

  /** The custom keyboard the bot currently shows this person. */
  replyKeyboard(): ReplyKeyboardMarkup | undefined {
    const keyboard = this.chat().replyKeyboard;
    return keyboard ? clone(keyboard) : undefined;
  }

  /** The next message the bot sends to this person (optionally the next one matching). */
  nextBotMessage(predicate?: (message: Message) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<Message> {
    const botId = this.bot.id;
    return waitForEvent(
      this.host.events,
      'chat',
      (event: ChatEvent) =>
        event.kind === 'message' && event.botId === botId && event.chatId === this.id && event.message.from?.is_bot && (!predicate || predicate(event.message)) ? event.message : undefined,
      timeoutMs,
      `a bot message in chat ${this.id}`,
    );
  }

  /** The person blocks (or unblocks) the bot: sending to them fails with 403, as in Telegram. */
  block(blocked = true): void {
    this.chat().blocked = blocked;
    this.host.changed();
  }

  private chat(): ChatState {
    const chat = this.host.world.chat(this.bot, this.id);
    if (!chat) throw new Error(`User ${this.id} is not registered`);
    return chat;
  }

  private send(body: Pick<Message, 'text' | 'entities' | 'contact'>): Message {
    const chat = this.chat();
    const message = this.host.world.addMessage(chat, { from: this.host.world.userObject(chat.user), ...body });
    this.host.pushUpdate(chat.bot, { message: clone(message) });
    return clone(message);
  }

  private callback(messageId: number, data: string): CallbackQueryHandle {
    const chat = this.chat();
    const message = chat.messages.get(messageId);
    // A button under a deleted message still sends a query; Telegram then says the message is inaccessible.
    const carried: Message | InaccessibleMessage = message ? clone(message) : { chat: clone(chat.chat), message_id: messageId, date: 0 };
    const query = this.host.world.addCallbackQuery({ botId: chat.bot.id, chatId: this.id, messageId, data });
    const update = this.host.pushUpdate(chat.bot, {
      callback_query: { id: query.id, from: this.host.world.userObject(chat.user), message: carried, chat_instance: chatInstance(chat), data },
    });
    return { id: query.id, update: clone(update), answer: (timeoutMs = DEFAULT_WAIT_MS) => this.answerOf(query, timeoutMs) };
  }

  private answerOf(query: CallbackQueryState, timeoutMs: number): Promise<CallbackAnswer> {
    if (query.answer) return Promise.resolve(clone(query.answer));
    return waitForEvent(
      this.host.events,
      'callbackAnswer',
      (event: { id: string; answer: CallbackAnswer }) => (event.id === query.id ? event.answer : undefined),
      timeoutMs,
      `the answer to callback query ${query.id}`,
    );
  }
}

/** Telegram's chat_instance: an opaque id stable for one chat (here, per bot and person). */
function chatInstance(chat: ChatState): string {
  return String(BigInt(chat.bot.id) * 1_000_003n + BigInt(chat.chat.id));
}
