import type { Link } from '@dwld/db';
import { errorMessage } from '@dwld/errors';
import { qualitySet, type EventPublisher } from '@dwld/events';
import type { Logger } from '@dwld/logger';
import type { GatewayConfig } from '../config';
import type { LinkQueue } from '../store/link-queue';
import { manageableLink, type LinkRefusal, type Requester } from './link-access';

/** The qualities and folders a person may choose from (QUALITY_OPTIONS, FOLDERS). */
export type LinkChoices = Pick<GatewayConfig, 'QUALITY_OPTIONS' | 'FOLDERS'>;

/** Whether a quality someone picks (on a card, in POST /links) is one on offer. */
export function isQualityChoice(choices: LinkChoices, quality: string): boolean {
  return choices.QUALITY_OPTIONS.includes(quality);
}

/** Whether a folder someone picks (on a card, in POST /links) is one on offer. */
export function isFolderChoice(choices: LinkChoices, folder: string): boolean {
  return choices.FOLDERS.includes(folder);
}

/** A folder as picked: by its place in FOLDERS (a card's button), or by name. */
export type FolderPick = { index: number } | { name: string };

export type ChangeOutcome =
  | { ok: true; link: Link }
  /**
   * gone: no longer waiting (dispatched, removed or given up); not_a_choice: not among the
   * options; in_flight: a scheduler is handing it over right now, with what it had.
   */
  | { ok: false; why: LinkRefusal | 'not_a_choice' | 'in_flight' };

export interface ChangeLinkDeps {
  config: LinkChoices;
  links: Pick<LinkQueue, 'find' | 'change'>;
  publisher: EventPublisher;
  logger: Logger;
  clock: () => Date;
}

/** Sets the quality a waiting link is downloaded at. */
export async function setQuality(deps: ChangeLinkDeps, who: Requester, linkId: number, quality: string, log: Logger = deps.logger): Promise<ChangeOutcome> {
  const access = await manageableLink(deps.links, who, linkId);
  if (!access.ok) return access;
  if (!isQualityChoice(deps.config, quality)) return { ok: false, why: 'not_a_choice' };
  return change(deps, access.link, { quality }, log);
}

/**
 * Sets the folder a waiting link is filed under. The folder it has already, picked again,
 * clears it: that is how a card's folder buttons take a choice back.
 */
export async function pickFolder(deps: ChangeLinkDeps, who: Requester, linkId: number, pick: FolderPick, log: Logger = deps.logger): Promise<ChangeOutcome> {
  const access = await manageableLink(deps.links, who, linkId);
  if (!access.ok) return access;
  const folder = 'index' in pick ? deps.config.FOLDERS[pick.index] : pick.name;
  if (folder === undefined || !isFolderChoice(deps.config, folder)) return { ok: false, why: 'not_a_choice' };
  return change(deps, access.link, { folder: access.link.folder === folder ? null : folder }, log);
}

/** Changes the row (refused while a scheduler holds it), then tells the schedulers (quality.set). */
async function change(deps: ChangeLinkDeps, link: Link, data: { quality?: string; folder?: string | null }, log: Logger): Promise<ChangeOutcome> {
  const outcome = await deps.links.change(link.id, data, deps.clock());
  if (!outcome.ok) return outcome;
  const updated = outcome.link;
  try {
    await deps.publisher.publish(
      qualitySet,
      { linkId: updated.id, userId: String(updated.userId), quality: updated.quality, folder: updated.folder },
      { id: `quality.set:${updated.id}:${updated.updatedAt.getTime()}` },
    );
  } catch (err) {
    // The row is the truth: schedulers read quality and folder from it; the event only wakes them.
    log.warn('quality.set not published', { linkId: updated.id, error: errorMessage(err) });
  }
  return { ok: true, link: updated };
}
