import { Markup } from 'telegraf';
import type { ReplyKeyboardMarkup } from 'telegraf/types';
import type { Role } from '@dwld/domain';
import { textsFor, type Language, type Texts } from '../texts';

/** The reply keyboard under the chat: the same for everyone let in, plus the fleet buttons for admins. */
export function menuKeyboard(texts: Texts, role: Role): ReplyKeyboardMarkup {
  const { menu } = texts;
  const rows = [[menu.queue, menu.help], ...(role === 'admin' ? [[menu.status, menu.downloaders]] : [])];
  return Markup.keyboard(rows).resize().reply_markup;
}

/** One command menu per language Telegram shows it in (no language code: everyone else). */
export interface CommandList {
  languageCode?: string;
  commands: Array<{ command: string; description: string }>;
}

/** The command menu listing these commands, in every language the bot speaks. */
export function commandLists(names: readonly string[]): CommandList[] {
  return (['en', 'ru'] as Language[]).map((lang) => {
    const { commands } = textsFor(lang);
    return {
      ...(lang === 'en' ? {} : { languageCode: lang }),
      commands: names.map((command) => ({ command, description: commands[command as keyof typeof commands] })),
    };
  });
}
