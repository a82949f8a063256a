import type { MessageEntity } from '../types';
import { detectEntities, trimFormatted } from '../text/entities';
import { type FormattedText, HtmlParseError, parseHtml, sortEntities } from '../text/html-parser';
import { badRequest } from './api-error';
import { isRecord, type Params } from './params';

export const MAX_MESSAGE_LENGTH = 4096;

// Entities inside which Telegram does not look for links or commands of its own.
const OPAQUE_ENTITY_TYPES = new Set(['code', 'pre', 'text_link', 'text_mention', 'url', 'email', 'mention', 'bot_command', 'custom_emoji']);

function explicitEntities(params: Params): MessageEntity[] {
  const value = params.json('entities', "can't parse entities JSON object");
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw badRequest("can't parse entities JSON object");
  return value.map((entity) => {
    if (!isRecord(entity) || typeof entity.type !== 'string' || typeof entity.offset !== 'number' || typeof entity.length !== 'number') {
      throw badRequest("can't parse MessageEntity JSON object");
    }
    return entity as unknown as MessageEntity;
  });
}

/**
 * The text and entities a sendMessage/editMessageText call produces: parse_mode applied,
 * whitespace trimmed, and links and commands found by the server added, as Telegram does.
 * Length and emptiness are left to the caller (the two methods word those errors differently).
 */
export function formattedTextFromParams(params: Params): FormattedText {
  const raw = params.string('text') ?? '';
  const parseMode = params.string('parse_mode') ?? '';
  let formatted: FormattedText;
  if (parseMode === '') {
    formatted = { text: raw, entities: explicitEntities(params) };
  } else if (parseMode.toLowerCase() === 'html') {
    try {
      formatted = parseHtml(raw);
    } catch (err) {
      if (err instanceof HtmlParseError) throw badRequest(`can't parse entities: ${err.message}`);
      throw err;
    }
  } else if (/^markdown(v2)?$/i.test(parseMode)) {
    // Deliberately loud: a silently unparsed Markdown text would make tests pass that Telegram fails.
    throw badRequest(`parse_mode ${parseMode} is not supported by the emulator (only HTML is)`);
  } else {
    throw badRequest('unsupported parse_mode');
  }
  const trimmed = trimFormatted(formatted);
  const opaque = trimmed.entities.filter((e) => OPAQUE_ENTITY_TYPES.has(e.type));
  const detected = detectEntities(trimmed.text).filter((d) => !opaque.some((e) => d.offset < e.offset + e.length && e.offset < d.offset + d.length));
  return { text: trimmed.text, entities: sortEntities([...trimmed.entities, ...detected]) };
}
