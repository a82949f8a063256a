export type Role = 'admin' | 'user' | 'stranger';

// Telegram user ids are positive; kept as decimal strings so no id ever meets a float's limits.
const USER_ID = /^[1-9]\d*$/;

export interface RoleInput {
  userId: string;
  adminIds: ReadonlySet<string>;
  allowedIds: ReadonlySet<string>;
  /** The person shared their own contact and its phone is allowed (stored by the gateway). */
  authorisedByPhone: boolean;
}

/** Admins are listed by id; users by id or authorised by phone; everyone else is a stranger. */
export function resolveRole({ userId, adminIds, allowedIds, authorisedByPhone }: RoleInput): Role {
  // An id that is not a canonical positive decimal is nobody, even if a list holds the same string.
  if (typeof userId !== 'string' || !USER_ID.test(userId)) return 'stranger';
  if (adminIds.has(userId)) return 'admin';
  if (allowedIds.has(userId) || authorisedByPhone) return 'user';
  return 'stranger';
}

/** Whether `actorId` may change or remove a link owned by `ownerId`: admins any, users their own. */
export function canManageLink(role: Role, actorId: string, ownerId: string): boolean {
  if (role === 'admin') return true;
  if (role === 'user') return actorId !== '' && actorId === ownerId;
  return false;
}

export type ContactRejection = 'not_own_contact' | 'phone_not_allowed';

export interface ContactInput {
  senderId: string;
  /** The contact's Telegram user id; absent when the card was typed by hand (or is someone without Telegram). */
  contactUserId: string | number | null | undefined;
  phone: string;
  /** Allowed phone numbers in any usual notation ("+7 (900) 123-45-67"). */
  allowedPhones: Iterable<string>;
}

export type ContactDecision = { ok: true; phone: string } | { ok: false; reason: ContactRejection };

/**
 * Digits of a phone number written with spaces, dashes, dots, parentheses and a leading +;
 * null when anything else is in it. No country-prefix rewriting ("8…" vs "+7…"): list
 * numbers in the form Telegram reports them.
 */
export function normalisePhone(phone: string): string | null {
  const digits = phone.trim().replace(/^\+/, '').replace(/[\s().-]/g, '');
  return /^\d+$/.test(digits) ? digits : null;
}

/**
 * A shared contact authorises its sender only when it is the sender's own card (Telegram
 * fills in user_id for the account's own number; a card typed by hand has none) and its phone
 * is allowed. On success, `phone` is the normalised number.
 */
export function isContactAcceptable({ senderId, contactUserId, phone, allowedPhones }: ContactInput): ContactDecision {
  const contactId = typeof contactUserId === 'number' ? String(contactUserId) : contactUserId;
  if (contactId === null || contactId === undefined || contactId === '' || contactId !== senderId) {
    return { ok: false, reason: 'not_own_contact' };
  }
  const digits = normalisePhone(phone);
  const allowed = new Set([...allowedPhones].map(normalisePhone));
  if (digits === null || !allowed.has(digits)) return { ok: false, reason: 'phone_not_allowed' };
  return { ok: true, phone: digits };
}
