import type { InlineKeyboardMarkup } from 'telegraf/types';
import type { Link } from '@dwld/db';
import { QUEUE_STATUSES, type QueueStatus } from '../store/link-queue';
import { linkView } from './card';
import type { Actor, BotDeps } from './context';
import { removeButtons } from './views';

/** What /queue shows a person: their links (admins: everyone's, by person) with a ✖ each. */
export interface QueueListing {
  /** HTML; may be longer than one message (the caller splits it). */
  text: string;
  markup?: InlineKeyboardMarkup;
}

/**
 * /queue as this person sees it now: what /select lets through, whether dispatching is paused,
 * and what the filters hide (an empty list says so rather than "empty" while links wait).
 */
export async function renderQueue(deps: BotDeps, actor: Actor): Promise<QueueListing> {
  const { texts } = actor;
  const admin = actor.role === 'admin';
  const owner = admin ? undefined : actor.id;
  const user = await deps.users.find(actor.id);
  const shown = (user?.queueFilter ?? QUEUE_STATUSES) as QueueStatus[];
  const [list, pause] = await Promise.all([deps.links.list(owner, shown), deps.pause.current()]);
  const hiding = QUEUE_STATUSES.some((status) => !shown.includes(status));
  let hidden = '';
  if (hiding) {
    const counts = await deps.links.countByStatus(owner);
    for (const status of shown) counts[status] = 0;
    hidden = texts.statusCounts(counts);
  }
  if (list.length === 0) {
    if (hidden) return { text: texts.queueAllHidden(hidden) };
    return { text: admin ? texts.queueEmptyAll : texts.queueEmpty };
  }
  const now = deps.clock();
  const itemOptions = { paused: pause !== null, admin };
  const lines: string[] = [texts.queueHeader(list.length)];
  if (pause) lines.push(texts.queuePaused(pause, admin));
  if (admin) {
    const byUser = new Map<string, Link[]>();
    for (const link of list) byUser.set(String(link.userId), [...(byUser.get(String(link.userId)) ?? []), link]);
    for (const [id, owned] of byUser) {
      // The newest name a link of theirs carries: people change names.
      const named = [...owned].reverse().find((link) => link.ownerName || link.username) ?? owned[0]!;
      lines.push('', texts.queueUserHeader({ id, name: named.ownerName, username: named.username }, owned.length));
      for (const link of owned) lines.push(texts.queueItem(linkView(link), now, itemOptions));
    }
  } else {
    for (const link of list) lines.push(texts.queueItem(linkView(link), now, itemOptions));
  }
  if (hidden) lines.push('', texts.queueSomeHidden(hidden));
  return { text: lines.join('\n'), markup: removeButtons(list) };
}
