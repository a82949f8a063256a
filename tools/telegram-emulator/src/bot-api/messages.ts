import { clone } from '../state/world';
import type { InlineKeyboardMarkup, Message } from '../types';
import { badRequest } from './api-error';
import { chatFromParams, messageIdFromParams } from './chat-lookup';
import { inlineMarkupOf, parseReplyMarkup, type ReplyMarkup } from './markup';
import { formattedTextFromParams, MAX_MESSAGE_LENGTH } from './message-text';
import type { MethodContext, MethodHandler } from './method-context';
import { isRecord } from './params';

const NOT_MODIFIED =
  'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';

const CHAT_ACTIONS = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);

function replyMarkupFromParams({ params }: MethodContext): ReplyMarkup | undefined {
  return parseReplyMarkup(params.json('reply_markup', "can't parse reply keyboard markup JSON object"));
}

/** The message a reply quotes: reply_parameters, or the older reply_to_message_id. */
function repliedMessage(ctx: MethodContext, messages: Map<number, Message>): Message | undefined {
  const { params } = ctx;
  const replyParameters = params.json('reply_parameters', "can't parse reply parameters JSON object");
  if (replyParameters !== undefined && !isRecord(replyParameters)) throw badRequest("can't parse reply parameters JSON object");
  const messageId = replyParameters ? replyParameters.message_id : params.integer('reply_to_message_id');
  if (messageId === undefined) return undefined;
  const allowWithout = replyParameters ? replyParameters.allow_sending_without_reply === true : params.boolean('allow_sending_without_reply') === true;
  const replied = typeof messageId === 'number' ? messages.get(messageId) : undefined;
  if (!replied && !allowWithout) throw badRequest('message to be replied not found');
  if (!replied) return undefined;
  const quoted = clone(replied);
  delete quoted.reply_to_message;
  return quoted;
}

const sendMessage: MethodHandler = (ctx) => {
  const chat = chatFromParams(ctx, 'send');
  const { text, entities } = formattedTextFromParams(ctx.params);
  if (text.length === 0) throw badRequest('message text is empty');
  if (text.length > MAX_MESSAGE_LENGTH) throw badRequest('message is too long');
  const markup = replyMarkupFromParams(ctx);
  const link = ctx.params.json('link_preview_options', "can't parse link preview options JSON object");
  if (link !== undefined && !isRecord(link)) throw badRequest("can't parse link preview options JSON object");
  const replyTo = repliedMessage(ctx, chat.messages);
  const inline = inlineMarkupOf(markup);

  const message = ctx.world.addMessage(chat, {
    from: ctx.bot.user,
    ...(replyTo ? { reply_to_message: replyTo } : {}),
    text,
    ...(entities.length ? { entities } : {}),
    ...(inline ? { reply_markup: inline } : {}),
  });
  // A custom keyboard is not part of the message: it replaces what the person's keyboard shows.
  if (markup?.kind === 'keyboard') ctx.world.setReplyKeyboard(chat, markup.markup);
  if (markup?.kind === 'remove_keyboard') ctx.world.setReplyKeyboard(chat, undefined);
  return clone(message);
};

function editableMessage(ctx: MethodContext) {
  if (ctx.params.has('inline_message_id')) throw badRequest('MESSAGE_ID_INVALID');
  const chat = chatFromParams(ctx);
  const messageId = messageIdFromParams(ctx);
  const message = chat.messages.get(messageId);
  if (!message) throw badRequest('message to edit not found');
  if (message.from?.id !== ctx.bot.id) throw badRequest("message can't be edited");
  return { chat, message };
}

/** Edits accept only inline keyboards; no reply_markup means "remove the keyboard", as in Telegram. */
function editedMarkup(ctx: MethodContext): InlineKeyboardMarkup | undefined {
  const markup = replyMarkupFromParams(ctx);
  if (markup !== undefined && markup.kind !== 'inline') throw badRequest("can't parse inline keyboard markup JSON object");
  return inlineMarkupOf(markup);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function applyEdit(ctx: MethodContext, chat: ReturnType<typeof editableMessage>['chat'], edited: Message): Message {
  edited.edit_date = Math.max(Math.floor(Date.now() / 1000), edited.date);
  ctx.world.replaceMessage(chat, edited);
  return clone(edited);
}

const editMessageText: MethodHandler = (ctx) => {
  const { chat, message } = editableMessage(ctx);
  if (message.text === undefined) throw badRequest('there is no text in the message to edit');
  const { text, entities } = formattedTextFromParams(ctx.params);
  if (text.length === 0) throw badRequest('message text is empty');
  // Telegram words this one differently from sendMessage's "message is too long".
  if (text.length > MAX_MESSAGE_LENGTH) throw badRequest('MESSAGE_TOO_LONG');
  const markup = editedMarkup(ctx);
  if (text === message.text && sameJson(entities, message.entities ?? []) && sameJson(markup, message.reply_markup)) throw badRequest(NOT_MODIFIED);

  const edited: Message = { ...clone(message), text };
  delete edited.entities;
  delete edited.reply_markup;
  if (entities.length) edited.entities = entities;
  if (markup) edited.reply_markup = markup;
  return applyEdit(ctx, chat, edited);
};

const editMessageReplyMarkup: MethodHandler = (ctx) => {
  const { chat, message } = editableMessage(ctx);
  const markup = editedMarkup(ctx);
  if (sameJson(markup, message.reply_markup)) throw badRequest(NOT_MODIFIED);
  const edited: Message = clone(message);
  delete edited.reply_markup;
  if (markup) edited.reply_markup = markup;
  return applyEdit(ctx, chat, edited);
};

const deleteMessage: MethodHandler = (ctx) => {
  const chat = chatFromParams(ctx);
  const messageId = messageIdFromParams(ctx);
  // Bots may delete both their own and the person's messages in a private chat.
  if (!ctx.world.deleteMessage(chat, messageId)) throw badRequest('message to delete not found');
  return true;
};

const deleteMessages: MethodHandler = (ctx) => {
  const chat = chatFromParams(ctx);
  const ids = ctx.params.json('message_ids', "can't parse message identifiers JSON object");
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > 100 || !ids.every(Number.isSafeInteger)) throw badRequest('message identifiers are not specified');
  // As in Telegram, ids that are not (or no longer) there are skipped.
  for (const id of ids as number[]) ctx.world.deleteMessage(chat, id);
  return true;
};

const sendChatAction: MethodHandler = (ctx) => {
  const chat = chatFromParams(ctx, 'send');
  const action = ctx.params.string('action') ?? '';
  if (!CHAT_ACTIONS.has(action)) throw badRequest('wrong parameter action in request');
  chat.lastChatAction = { action, at: Date.now() };
  return true;
};

export const MESSAGE_METHODS: Record<string, MethodHandler> = {
  sendMessage,
  editMessageText,
  editMessageReplyMarkup,
  deleteMessage,
  deleteMessages,
  sendChatAction,
};
