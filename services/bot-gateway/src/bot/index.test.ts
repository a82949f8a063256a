import { ALL_MENU_LABELS, menuLabels, textsFor } from '../texts';
import { isPlainMessage } from './index';

describe('isPlainMessage (which updates skip the command and button filters)', () => {
  it.each([
    ['a message with a link', { message: { text: 'look https://example.com/v' } }, true],
    ['a photo caption', { message: { caption: 'https://example.com/v' } }, true],
    ['a command', { message: { text: '/queue' } }, false],
    ['a command in a caption', { message: { caption: '/status' } }, false],
    ['a keyboard button, English', { message: { text: '📋 Queue' } }, false],
    ['a keyboard button, Russian', { message: { text: '🖥 Загрузчики' } }, false],
    ['a message without text (a contact)', { message: { contact: { phone_number: '1' } } }, false],
    ['a button press', { callback_query: { data: 'x' } }, false],
  ])('%s → %p', (_what, update, plain) => expect(isPlainMessage(update as { message?: object })).toBe(plain));
});

describe('menu labels', () => {
  it('lists each button in every language, as the keyboards show them', () => {
    expect(menuLabels('queue')).toEqual([textsFor('en').menu.queue, textsFor('ru').menu.queue]);
    for (const lang of ['en', 'ru'] as const) for (const label of Object.values(textsFor(lang).menu)) expect(ALL_MENU_LABELS.has(label)).toBe(true);
    expect(ALL_MENU_LABELS.size).toBe(8);
  });
});
