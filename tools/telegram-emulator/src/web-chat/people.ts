import type { UserProfile } from '../state/world';

/** Someone the web chat page lets a person be; `label` says what they are to the bot. */
export interface Person extends UserProfile {
  /** How the page lists them, e.g. 'Admin', 'User' or 'Stranger' (the host decides what they mean). */
  label: string;
}

export type PersonOptions = Omit<Person, 'firstName' | 'label'> & { firstName?: string; label?: string };

/**
 * The people offered when the host names none: the sandbox gives the same ids to the gateway's
 * ADMIN_IDS (100) and ALLOWED_IDS (200, 201); 999 is on no list.
 */
export const DEFAULT_PEOPLE: readonly Person[] = [
  { id: 100, firstName: 'Admin', label: 'Admin', phone: '+15550100100' },
  { id: 200, firstName: 'Alice', label: 'User', phone: '+15550100200' },
  { id: 201, firstName: 'Bob', label: 'User', phone: '+15550100201' },
  { id: 999, firstName: 'Stranger', label: 'Stranger', phone: '+15550100999' },
];

export function personOf(options: PersonOptions): Person {
  if (!Number.isSafeInteger(options.id) || options.id <= 0) throw new Error(`A person's id must be a positive integer, not ${String(options.id)}`);
  const person: Person = { id: options.id, firstName: options.firstName ?? `User ${options.id}`, label: options.label ?? 'User' };
  for (const key of ['lastName', 'username', 'languageCode', 'phone'] as const) {
    const value = options[key];
    if (value !== undefined) person[key] = value;
  }
  return person;
}
