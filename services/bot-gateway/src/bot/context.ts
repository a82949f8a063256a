import type { Context } from 'telegraf';
import type { DownloaderPort } from '@dwld/contract';
import type { Role } from '@dwld/domain';
import type { WayIn } from './commands-menu';
import type { EventPublisher } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import type { GatewayConfig } from '../config';
import type { AddLinks } from '../use-cases/add-links';
import type { HandledUpdates } from '../telegram/handled-updates';
import type { LinkQueue } from '../store/link-queue';
import type { UserStore } from '../store/users';
import type { DownloaderList } from '../store/downloaders';
import type { TelegramOutbox } from '../telegram/outbox';
import type { DispatchPauseState } from '../dispatch-pause';
import type { OnceClaims } from '../once';
import type { Language, Texts } from '../texts';

/** Who sent the update, resolved once per update by the access middleware. */
export interface Actor {
  id: string;
  role: Role;
  /** Listed by id, or let in by sharing their contact (what /logout, the menus and /help offer). */
  wayIn: WayIn;
  lang: Language;
  texts: Texts;
  username: string | null;
  /** First and last name as Telegram shows them. */
  name: string | null;
}

export interface BotContext extends Context {
  actor: Actor;
  /** A child logger carrying the update id and the sender. */
  log: Logger;
}

/** Everything the bot's features need, built once in the composition root. */
export interface BotDeps {
  config: GatewayConfig;
  links: LinkQueue;
  users: UserStore;
  pause: DispatchPauseState;
  once: OnceClaims;
  addLinks: AddLinks;
  outbox: TelegramOutbox;
  handledUpdates: HandledUpdates;
  publisher: EventPublisher;
  /** The registered downloaders, as the table lists them. */
  fleet: DownloaderList;
  /** Calls to them, whatever protocol they speak. */
  downloaders: DownloaderPort;
  logger: Logger;
  clock: () => Date;
}
