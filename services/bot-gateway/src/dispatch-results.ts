import type { DispatchResult } from '@dwld/events';
import type { EventMeta } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import type { GatewayConfig } from './config';
import type { LinkQueue } from './store/link-queue';
import type { UserStore } from './store/users';
import type { TelegramOutbox } from './telegram/outbox';
import { textsForUser } from './texts';
import { drawCard } from './bot/card';
import type { DispatchPauseState } from './dispatch-pause';

export interface DispatchResultDeps {
  config: GatewayConfig;
  links: LinkQueue;
  users: UserStore;
  outbox: TelegramOutbox;
  pause: DispatchPauseState;
  logger: Logger;
  clock: () => Date;
}

/**
 * What the person sees after each dispatch attempt. Every Telegram effect is keyed by the
 * event id, so a redelivered event (the gateway died halfway) repeats nothing.
 */
export function handleDispatchResult(deps: DispatchResultDeps) {
  return async (result: DispatchResult, meta: EventMeta): Promise<void> => {
    const { outbox, config } = deps;
    const chatId = result.chatId;
    const key = meta.eventId;
    const user = await deps.users.find(result.userId);
    const texts = textsForUser(user, config.DEFAULT_LANGUAGE);

    if (result.ok) {
      if (result.messageId) await outbox.delete(chatId, result.messageId);
      if (result.replyMessageId) await outbox.delete(chatId, result.replyMessageId);
      if (user?.notifications ?? true) {
        await outbox.send(
          { chatId, text: texts.dispatched(result.url, result.downloader ?? '?'), ...(config.SERVICE_MESSAGE_TTL_S > 0 ? { deleteAfterMs: config.SERVICE_MESSAGE_TTL_S } : {}) },
          { jobId: `dispatched-${key}` },
        );
      }
      deps.logger.info('dispatch result shown', { linkId: result.linkId, ok: true, downloader: result.downloader });
      return;
    }

    // A failed attempt: the card says why in plain words and what happens next, from the row as it is now.
    if (result.linkId === null || result.replyMessageId === null) return;
    const link = await deps.links.find(result.linkId);
    if (!link) return;
    const { card } = await drawCard(deps, link, { texts });
    await outbox.edit({ chatId, messageId: result.replyMessageId, ...card }, { jobId: `result-edit-${key}` });
    deps.logger.info('dispatch result shown', { linkId: result.linkId, ok: false, failed: result.failed, error: result.error?.kind });
  };
}
