import type { InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup } from '../types';
import { badRequest } from './api-error';
import { isRecord } from './params';

/** A validated reply_markup: the four kinds Telegram accepts. */
export type ReplyMarkup =
  | { kind: 'inline'; markup: InlineKeyboardMarkup }
  | { kind: 'keyboard'; markup: ReplyKeyboardMarkup }
  | { kind: 'remove_keyboard' }
  | { kind: 'force_reply'; placeholder?: string };

export const MAX_CALLBACK_DATA_BYTES = 64;

// Every action an inline button may carry; a button needs one of them.
const INLINE_ACTIONS = [
  'url',
  'callback_data',
  'web_app',
  'login_url',
  'switch_inline_query',
  'switch_inline_query_current_chat',
  'switch_inline_query_chosen_chat',
  'copy_text',
  'callback_game',
  'pay',
] as const;

const KEYBOARD_OPTIONS = ['request_contact', 'request_location', 'request_poll', 'request_users', 'request_chat', 'web_app'] as const;

function isButtonUrl(url: string): boolean {
  // Telegram accepts http(s) and tg: links, and bare host names it completes with http://.
  if (/^[a-z0-9.-]+\.[a-z]{2,}(?:[:/?#]|$)/i.test(url)) return true;
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') ? parsed.hostname.length > 0 : parsed.protocol === 'tg:';
  } catch {
    return false;
  }
}

function rowsOf(value: unknown, field: string, type: string): unknown[][] {
  if (!Array.isArray(value) || !value.every(Array.isArray)) {
    throw badRequest(`field "${field}" of the ${type} should be an Array of Arrays`);
  }
  return value as unknown[][];
}

function parseInlineButton(value: unknown): InlineKeyboardButton {
  if (!isRecord(value)) throw badRequest("can't parse inline keyboard button: InlineKeyboardButton should be an Object");
  if (typeof value.text !== 'string') throw badRequest(`can't parse inline keyboard button: Field "text" must be of type String`);
  const button: InlineKeyboardButton = { text: value.text };
  for (const action of INLINE_ACTIONS) if (value[action] !== undefined) (button as Record<string, unknown>)[action] = value[action];
  if (Object.keys(button).length === 1) throw badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
  if (button.callback_data !== undefined) {
    const bytes = typeof button.callback_data === 'string' ? Buffer.byteLength(button.callback_data, 'utf8') : 0;
    if (bytes < 1 || bytes > MAX_CALLBACK_DATA_BYTES) throw badRequest('BUTTON_DATA_INVALID');
  }
  if (button.url !== undefined && (typeof button.url !== 'string' || !isButtonUrl(button.url))) throw badRequest('BUTTON_URL_INVALID');
  return button;
}

function parseKeyboardButton(value: unknown): KeyboardButton {
  if (typeof value === 'string') return { text: value };
  if (!isRecord(value)) throw badRequest("can't parse keyboard button: KeyboardButton should be a String or an Object");
  if (typeof value.text !== 'string') throw badRequest(`can't parse keyboard button: Field "text" must be of type String`);
  const button: KeyboardButton = { text: value.text };
  for (const option of KEYBOARD_OPTIONS) if (value[option] !== undefined) (button as Record<string, unknown>)[option] = value[option];
  return button;
}

/** Validates reply_markup as Telegram does, refusing what Telegram refuses. */
export function parseReplyMarkup(value: unknown): ReplyMarkup | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw badRequest("can't parse reply keyboard markup JSON object");
  if (value.inline_keyboard !== undefined) {
    const rows = rowsOf(value.inline_keyboard, 'inline_keyboard', 'InlineKeyboardMarkup');
    return { kind: 'inline', markup: { inline_keyboard: rows.map((row) => row.map(parseInlineButton)) } };
  }
  if (value.keyboard !== undefined) {
    const rows = rowsOf(value.keyboard, 'keyboard', 'ReplyKeyboardMarkup');
    const markup: ReplyKeyboardMarkup = { keyboard: rows.map((row) => row.map(parseKeyboardButton)) };
    for (const flag of ['is_persistent', 'resize_keyboard', 'one_time_keyboard', 'selective'] as const) {
      if (typeof value[flag] === 'boolean') markup[flag] = value[flag];
    }
    if (typeof value.input_field_placeholder === 'string') markup.input_field_placeholder = value.input_field_placeholder;
    return { kind: 'keyboard', markup };
  }
  if (value.remove_keyboard === true) return { kind: 'remove_keyboard' };
  if (value.force_reply === true) {
    return { kind: 'force_reply', ...(typeof value.input_field_placeholder === 'string' ? { placeholder: value.input_field_placeholder } : {}) };
  }
  throw badRequest("can't parse reply keyboard markup JSON object");
}

/** The inline keyboard a message shows; an empty one counts as none, as in Telegram. */
export function inlineMarkupOf(markup: ReplyMarkup | undefined): InlineKeyboardMarkup | undefined {
  if (markup?.kind !== 'inline' || markup.markup.inline_keyboard.every((row) => row.length === 0)) return undefined;
  return markup.markup;
}
