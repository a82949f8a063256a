import { errorMessage } from '@dwld/errors';
import type { Logger } from '@dwld/logger';
import { pickLanguage, textsFor, type Texts } from '../texts';
import { renderCard } from './card';
import type { BotDeps } from './context';

/**
 * Redraws the card of every waiting link after dispatching was paused or resumed, so no card
 * keeps saying "Sending in 20 s" while nothing is sent (or "Paused" once it is). The edits go
 * through the outbox like any other, so a long queue is redrawn at Telegram's pace. Runs in
 * the background; the admin's answer does not wait for it.
 */
export function redrawWaitingCards(deps: BotDeps, log: Logger): void {
  void redraw(deps).then(
    (count) => log.info('cards redrawn after a pause switch', { count }),
    (err: unknown) => log.warn('cards not redrawn after a pause switch', { error: errorMessage(err) }),
  );
}

async function redraw(deps: BotDeps): Promise<number> {
  const { config } = deps;
  const [links, pause] = await Promise.all([deps.links.withCards(), deps.pause.current()]);
  const flip = `${pause ? 'paused' : 'resumed'}-${Date.now()}`;
  const textsOf = new Map<string, Texts>();
  let count = 0;
  for (const link of links) {
    const owner = String(link.userId);
    let texts = textsOf.get(owner);
    if (!texts) {
      const user = await deps.users.find(owner);
      texts = textsFor(pickLanguage(user?.language, config.DEFAULT_LANGUAGE));
      textsOf.set(owner, texts);
    }
    const card = renderCard(link, { config, texts, now: deps.clock(), pause });
    await deps.outbox.edit({ chatId: String(link.chatId), messageId: link.replyMessageId!, text: card.text, ...(card.markup ? { markup: card.markup } : {}) }, { jobId: `card-${link.id}-${flip}` });
    count++;
  }
  return count;
}
