import { CALLBACK_METHODS } from './callbacks';
import { COMMAND_METHODS } from './commands';
import type { MethodHandler } from './method-context';
import { MESSAGE_METHODS } from './messages';
import { UPDATE_METHODS } from './updates';

const ACCOUNT_METHODS: Record<string, MethodHandler> = {
  getMe: ({ bot }) => ({
    ...bot.user,
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
  }),
  // Nothing to log out of or close here; answered so shutdown paths that call them work.
  logOut: () => true,
  close: () => true,
};

const ALL: Record<string, MethodHandler> = { ...ACCOUNT_METHODS, ...UPDATE_METHODS, ...MESSAGE_METHODS, ...CALLBACK_METHODS, ...COMMAND_METHODS };

/** Every method the emulator answers, by lower-cased name: Bot API method names are case-insensitive. */
export const METHODS: ReadonlyMap<string, { name: string; handler: MethodHandler }> = new Map(
  Object.entries(ALL).map(([name, handler]) => [name.toLowerCase(), { name, handler }]),
);
