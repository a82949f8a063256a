import type { Role } from '@dwld/domain';
import { ADMIN_COMMANDS, canUseCommand, commandsFor, PHONE_USER_COMMANDS, USER_COMMANDS } from './commands-menu';

describe('commands', () => {
  it('gives users their eight commands, people let in by phone /logout too, and admins six more', () => {
    expect(USER_COMMANDS).toEqual(['start', 'help', 'queue', 'select', 'remove', 'enable', 'disable', 'restart']);
    expect(PHONE_USER_COMMANDS).toEqual([...USER_COMMANDS, 'logout']);
    expect(ADMIN_COMMANDS).toEqual([...USER_COMMANDS, 'status', 'downloaders', 'clean', 'pooloff', 'poolon', 'links']);
    expect(new Set(ADMIN_COMMANDS).size).toBe(ADMIN_COMMANDS.length);
  });

  it('offers /logout only to people let in by phone', () => {
    expect(canUseCommand('user', 'logout', 'phone')).toBe(true);
    expect(canUseCommand('user', 'logout', 'id')).toBe(false);
    expect(canUseCommand('user', 'logout')).toBe(false);
    expect(canUseCommand('admin', 'logout')).toBe(false);
    expect(canUseCommand('stranger', 'logout', 'phone')).toBe(false);
  });

  it.each<[Role, string, boolean]>([
    ['admin', 'pooloff', true],
    ['admin', 'queue', true],
    ['user', 'queue', true],
    ['user', 'pooloff', false],
    ['user', 'links', false],
    ['stranger', 'start', true],
    ['stranger', 'help', true],
    ['stranger', 'queue', false],
    ['admin', 'unknown', false],
  ])('%s may use /%s: %s', (role, command, expected) => {
    expect(canUseCommand(role, command)).toBe(expected);
  });

  it('gives each role every command of the roles below it', () => {
    expect(commandsFor('stranger').every((command) => commandsFor('user').includes(command))).toBe(true);
    expect(commandsFor('user').every((command) => commandsFor('admin').includes(command))).toBe(true);
  });
});
