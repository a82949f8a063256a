import fc from 'fast-check';
import { canManageLink, isContactAcceptable, normalisePhone, resolveRole, type ContactInput, type Role } from './permissions';

describe('resolveRole', () => {
  const adminIds = new Set(['1001']);
  const allowedIds = new Set(['2002', '1001']);

  it.each<[string, boolean, Role]>([
    ['1001', false, 'admin'],
    ['1001', true, 'admin'],
    ['2002', false, 'user'],
    ['3003', true, 'user'],
    ['3003', false, 'stranger'],
    ['', false, 'stranger'],
  ])('user %s (authorised by phone: %s) is %s', (userId, authorisedByPhone, role) => {
    expect(resolveRole({ userId, adminIds, allowedIds, authorisedByPhone })).toBe(role);
  });

  it.each(['01001', ' 1001', '1001 ', '-1001', '1e3'])('treats the malformed id %p as a stranger, even when a list holds it', (userId) => {
    const listed = new Set([userId]);
    expect(resolveRole({ userId, adminIds: listed, allowedIds: listed, authorisedByPhone: true })).toBe('stranger');
  });

  it('keeps ids beyond 2^53 exact', () => {
    expect(resolveRole({ userId: '9007199254740993', adminIds: new Set(['9007199254740992']), allowedIds: new Set(), authorisedByPhone: false })).toBe('stranger');
  });
});

describe('canManageLink', () => {
  it.each<[Role, string, string, boolean]>([
    ['admin', '1', '2', true],
    ['admin', '1', '1', true],
    ['user', '1', '1', true],
    ['user', '1', '2', false],
    ['user', '', '', false],
    ['stranger', '1', '1', false],
  ])('%s %s on a link of %s: %s', (role, actorId, ownerId, expected) => {
    expect(canManageLink(role, actorId, ownerId)).toBe(expected);
  });
});

describe('normalisePhone', () => {
  it.each([
    ['+7 (900) 123-45-67', '79001234567'],
    ['79001234567', '79001234567'],
    ['  +44 20.7946.0958 ', '442079460958'],
    ['+1-555-0100', '15550100'],
    ['', null],
    ['+', null],
    ['++7900', null],
    ['7900+1', null],
    ['phone', null],
    ['7900 ext 1', null],
  ])('%p → %p', (raw, digits) => {
    expect(normalisePhone(raw)).toBe(digits);
  });
});

describe('isContactAcceptable', () => {
  const base: ContactInput = { senderId: '42', contactUserId: '42', phone: '79001234567', allowedPhones: ['+7 (900) 123-45-67', '+1 555 0100'] };

  it.each<[string, Partial<ContactInput>, ReturnType<typeof isContactAcceptable>]>([
    ['own contact, allowed phone', {}, { ok: true, phone: '79001234567' }],
    ['numeric contact user id', { contactUserId: 42 }, { ok: true, phone: '79001234567' }],
    ['phone written with a plus', { phone: '+79001234567' }, { ok: true, phone: '79001234567' }],
    ["someone else's contact", { contactUserId: '43' }, { ok: false, reason: 'not_own_contact' }],
    ['a card typed by hand', { contactUserId: undefined }, { ok: false, reason: 'not_own_contact' }],
    ['a null contact user id', { contactUserId: null }, { ok: false, reason: 'not_own_contact' }],
    ['an empty contact user id and sender', { contactUserId: '', senderId: '' }, { ok: false, reason: 'not_own_contact' }],
    ['a phone not in the list', { phone: '79001234568' }, { ok: false, reason: 'phone_not_allowed' }],
    ['a phone that is a prefix of an allowed one', { phone: '7900123456' }, { ok: false, reason: 'phone_not_allowed' }],
    ['a malformed phone', { phone: 'call me' }, { ok: false, reason: 'phone_not_allowed' }],
    ['an empty allow-list', { allowedPhones: [] }, { ok: false, reason: 'phone_not_allowed' }],
    ['an allow-list given as a set', { allowedPhones: new Set(['79001234567']) }, { ok: true, phone: '79001234567' }],
  ])('%s', (_, change, expected) => {
    expect(isContactAcceptable({ ...base, ...change })).toEqual(expected);
  });

  it('accepts an allowed number however either side writes it', () => {
    const digits = fc.stringMatching(/^[1-9]\d{6,13}$/);
    const decorate = (number: string, plus: boolean, separators: string[]): string =>
      (plus ? '+' : '') + [...number].map((digit, index) => digit + (separators[index % separators.length] ?? '')).join('');
    const separators = fc.array(fc.constantFrom('', ' ', '-', '(', ')', '.'), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(digits, fc.boolean(), separators, fc.boolean(), separators, (number, plusA, sepA, plusB, sepB) => {
        const phone = decorate(number, plusA, sepA);
        const allowed = decorate(number, plusB, sepB);
        expect(isContactAcceptable({ senderId: '1', contactUserId: '1', phone, allowedPhones: [allowed] })).toEqual({ ok: true, phone: number });
      }),
    );
  });
});
