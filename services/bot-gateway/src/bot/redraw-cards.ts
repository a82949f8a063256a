import { errorMessage } from '@dwld/errors';
import type { Logger } from '@dwld/logger';
import { textsForUser, type Texts } from '../texts';
import { drawCard } from './card';
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
  const links = await deps.links.withCards();
  // Real time, not the gateway's clock: a job id, which two flips must never share (a test's clock may stand still).
  const flip = `${(await deps.pause.current()) ? 'paused' : 'resumed'}-${Date.now()}`;
  const textsOf = new Map<string, Texts>();
  let count = 0;
  for (const { id } of links) if (await redrawCard(deps, id, flip, textsOf)) count++;
  return count;
}

/**
 * Draws the cards of links imported from the Go bot again, once: the person's chat still shows
 * the Go bot's reply with the Go bot's buttons, which dwld cannot read. Each edit goes through
 * the outbox under the id `card-<link>-imported`, so a gateway that stops half-way and starts
 * again edits no card twice. Runs in the background at start.
 */
export function redrawImportedCards(deps: BotDeps, log: Logger): void {
  void (async () => {
    let count = 0;
    for (const id of await deps.links.cardsPending()) {
      if (await redrawCard(deps, id, 'imported')) count++;
      await deps.links.cardDrawn(id);
    }
    return count;
  })().then(
    (count) => count > 0 && log.info('cards of imported links drawn again', { count }),
    (err: unknown) => log.warn('cards of imported links not drawn again; tried at the next start', { error: errorMessage(err) }),
  );
}

/**
 * Draws one waiting link's card again from its row as it is now (read right before, so a
 * quality chosen or a link removed meanwhile is not drawn back); false when there is nothing to
 * draw (gone, failed, or its card not out yet). Cards that go out after a redraw began are drawn
 * with the pause state of their own moment, and checked once more when they are out
 * (redrawIfPauseChanged).
 */
export async function redrawCard(deps: BotDeps, linkId: number, reason: string, textsOf = new Map<string, Texts>()): Promise<boolean> {
  const link = await deps.links.find(linkId);
  if (!link || link.status !== 'queued' || link.replyMessageId === null) return false;
  const owner = String(link.userId);
  let texts = textsOf.get(owner);
  if (!texts) {
    texts = textsForUser(await deps.users.find(owner), deps.config.DEFAULT_LANGUAGE);
    textsOf.set(owner, texts);
  }
  const { card } = await drawCard(deps, link, { texts });
  await deps.outbox.edit({ chatId: String(link.chatId), messageId: link.replyMessageId, ...card }, { jobId: `card-${link.id}-${reason}` });
  return true;
}

/**
 * A card just went out (the outbox recorded its message id). It was drawn when it was queued; if
 * dispatching was paused or resumed since, it says the wrong thing: draw it again.
 */
export async function redrawIfPauseChanged(deps: BotDeps, linkId: number, drawnPaused: boolean): Promise<void> {
  const pausedNow = (await deps.pause.current()) !== null;
  if (pausedNow !== drawnPaused) await redrawCard(deps, linkId, `late-${pausedNow ? 'paused' : 'resumed'}-${Date.now()}`);
}
