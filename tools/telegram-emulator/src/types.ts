// The subset of Telegram's Bot API objects the emulator produces, shaped exactly as Telegram
// sends them (snake_case, optional fields absent rather than null). Kept here rather than taken
// from telegraf so the emulator has no runtime or type dependency on any bot framework.

export interface User {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface PrivateChat {
  id: number;
  type: 'private';
  first_name: string;
  last_name?: string;
  username?: string;
}

export interface MessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
  user?: User;
}

export interface InlineKeyboardButton {
  text: string;
  url?: string;
  callback_data?: string;
  [action: string]: unknown;
}

export interface InlineKeyboardMarkup {
  inline_keyboard: InlineKeyboardButton[][];
}

export interface KeyboardButton {
  text: string;
  request_contact?: boolean;
  request_location?: boolean;
  [action: string]: unknown;
}

export interface ReplyKeyboardMarkup {
  keyboard: KeyboardButton[][];
  is_persistent?: boolean;
  resize_keyboard?: boolean;
  one_time_keyboard?: boolean;
  input_field_placeholder?: string;
  selective?: boolean;
}

export interface Contact {
  phone_number: string;
  first_name: string;
  last_name?: string;
  user_id?: number;
}

export interface Message {
  message_id: number;
  from?: User;
  chat: PrivateChat;
  date: number;
  edit_date?: number;
  text?: string;
  entities?: MessageEntity[];
  contact?: Contact;
  reply_to_message?: Message;
  reply_markup?: InlineKeyboardMarkup;
}

/** What a callback query carries when its message is gone (Telegram's InaccessibleMessage). */
export interface InaccessibleMessage {
  chat: PrivateChat;
  message_id: number;
  date: 0;
}

export interface CallbackQuery {
  id: string;
  from: User;
  message: Message | InaccessibleMessage;
  chat_instance: string;
  data: string;
}

export interface Update {
  update_id: number;
  message?: Message;
  edited_message?: Message;
  callback_query?: CallbackQuery;
}

export interface BotCommand {
  command: string;
  description: string;
}

export interface CallbackAnswer {
  text?: string;
  show_alert?: boolean;
  url?: string;
  cache_time?: number;
}

export interface WebhookInfo {
  url: string;
  has_custom_certificate: boolean;
  pending_update_count: number;
  ip_address?: string;
  last_error_date?: number;
  last_error_message?: string;
  max_connections?: number;
  allowed_updates?: string[];
}

/** A Bot API answer as it goes over the wire. */
export type ApiResponse =
  | { ok: true; result: unknown; description?: string }
  | { ok: false; error_code: number; description: string; parameters?: { retry_after?: number; migrate_to_chat_id?: number } };
