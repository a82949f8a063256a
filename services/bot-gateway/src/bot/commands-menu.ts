import type { Role } from '@dwld/domain';

// Which slash commands each kind of person has, as the command menus list them (menu.ts).
// Only the bot has commands, so they live beside it rather than in @dwld/domain.

/** Commands a stranger may use: enough to learn what the bot is and to share a contact. */
export const STRANGER_COMMANDS = ['start', 'help'] as const;
export const USER_COMMANDS = ['start', 'help', 'queue', 'select', 'remove', 'enable', 'disable', 'restart'] as const;
/** A person let in by sharing their contact can also log out; one let in by id has nothing to log out of. */
export const PHONE_USER_COMMANDS = [...USER_COMMANDS, 'logout'] as const;
/** Everything a user let in by id has, plus the fleet and maintenance commands (admins are listed by id). */
export const ADMIN_COMMANDS = [...USER_COMMANDS, 'status', 'downloaders', 'clean', 'pooloff', 'poolon', 'links'] as const;

export type Command = (typeof ADMIN_COMMANDS)[number] | (typeof PHONE_USER_COMMANDS)[number];

/** How a person got in: listed by id (ADMIN_IDS / ALLOWED_IDS), or by sharing an allowed phone's contact. */
export type WayIn = 'id' | 'phone';

export function commandsFor(role: Role, wayIn: WayIn = 'id'): readonly Command[] {
  if (role === 'admin') return ADMIN_COMMANDS;
  if (role === 'user') return wayIn === 'phone' ? PHONE_USER_COMMANDS : USER_COMMANDS;
  return STRANGER_COMMANDS;
}

/** Whether the role may run the command (a name without the slash or @bot suffix). */
export function canUseCommand(role: Role, command: string, wayIn: WayIn = 'id'): boolean {
  return (commandsFor(role, wayIn) as readonly string[]).includes(command);
}
