import type { Context } from 'telegraf';
import type { DownloaderClient } from '@dwld/contract';
import type { Database } from '@dwld/db';
import type { Role, WayIn } from '@dwld/domain';
import type { EventPublisher } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import type { GatewayConfig } from '../config';
import type { LinkIntake } from '../intake';
import type { HandledUpdates } from '../telegram/handled-updates';
import type { LinkRateLimiter } from '../rate-limit';
import type { LinkQueue } from '../store/link-queue';
import type { UserStore } from '../store/users';
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
  db: Database;
  links: LinkQueue;
  users: UserStore;
  pause: DispatchPauseState;
  once: OnceClaims;
  intake: LinkIntake;
  linkRate: LinkRateLimiter;
  outbox: TelegramOutbox;
  handledUpdates: HandledUpdates;
  publisher: EventPublisher;
  downloaders: DownloaderClient;
  logger: Logger;
  clock: () => Date;
}
