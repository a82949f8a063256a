import type { Link } from '@dwld/db';
import { canManageLink, type Role } from '@dwld/domain';
import type { LinkQueue } from '../store/link-queue';

/** Who asks for a change to a link: their id and what they may do. */
export interface Requester {
  id: string;
  role: Role;
}

/** Why a link cannot be acted on: it left the queue (dispatched or removed), or it is someone else's. */
export type LinkRefusal = 'gone' | 'not_yours';

export type LinkAccess = { ok: true; link: Link } | { ok: false; why: LinkRefusal };

/**
 * The link as it is now, when `who` may change or remove it (admins any link, users their own).
 * Buttons carry only a link id, which anyone can forge: every use-case acting on a link by id
 * starts here.
 */
export async function manageableLink(links: Pick<LinkQueue, 'find'>, who: Requester, linkId: number): Promise<LinkAccess> {
  const link = await links.find(linkId);
  if (!link) return { ok: false, why: 'gone' };
  if (!canManageLink(who.role, who.id, String(link.userId))) return { ok: false, why: 'not_yours' };
  return { ok: true, link };
}
