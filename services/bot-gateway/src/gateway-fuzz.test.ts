import fc from 'fast-check';
import { isPrivateHost } from '@dwld/domain';
import { ADMIN, ALICE, BOB, startHarness, type Harness } from './testing/harness';

const STRANGER = 998;
const PEOPLE = [ADMIN, ALICE, BOB, STRANGER];

// Hostile and broken input through the emulator: whatever arrives, the gateway answers every
// person, never crashes, and stores only valid links that belong to the person who sent them.
describe('random Telegram updates (property-based)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ MAX_LINKS_PER_MESSAGE: '5', LINKS_PER_MINUTE: '100000' });
  });
  afterAll(() => h.stop());

  const oddText = fc.oneof(
    fc.string({ minLength: 1, maxLength: 200 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 100 }),
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    fc.constantFrom(
      'javascript:alert(1)',
      'http://127.0.0.1/x',
      'http://[fe80::1]/',
      'https://user:pw@youtube.com/v',
      '\u202ehttps://evil.com/\u202c',
      'https://xn--80ak6aa92e.com/видео?q=<b>&_x_',
      '/queue',
      '/remove',
      '/pooloff',
      '/start@dwld_test_bot',
      'ftp://a.b/c',
    ),
    fc.array(fc.webUrl(), { minLength: 2, maxLength: 12 }).map((links) => links.join(' \n ')),
    fc.integer({ min: 3000, max: 4096 }).map((n) => `https://example.com/${'a'.repeat(n - 20)}`),
  );
  const action = fc.oneof(
    fc.record({ kind: fc.constant('text' as const), who: fc.constantFrom(...PEOPLE), text: oddText }),
    fc.record({ kind: fc.constant('edit' as const), who: fc.constantFrom(...PEOPLE), text: oddText }),
    fc.record({ kind: fc.constant('contact' as const), who: fc.constantFrom(...PEOPLE), of: fc.option(fc.constantFrom(...PEOPLE, 12345)), phone: fc.constantFrom('+79000000001', '+1 555 0100', '8 900 000 00 01') }),
    fc.record({
      kind: fc.constant('button' as const),
      who: fc.constantFrom(...PEOPLE),
      data: fc.oneof(fc.string({ maxLength: 80 }), fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.constantFrom('720', 'max', '99999', 'abc')).map(([id, q]) => `q:${id}:${q}`), fc.integer({ min: 0, max: 5000 }).map((id) => `r:${id}`), fc.integer({ min: 0, max: 50 }).map((i) => `f:1:${i}`)),
    }),
  );

  it('answers every update sensibly and stores nothing that should not be stored', async () => {
    // The stranger gets in only by sharing their own contact with the listed phone (+7 900 000-00-01).
    let strangerLoggedIn = false;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 4 }), async (actions) => {
        for (const a of actions) {
          const user = h.emulator.user({ id: a.who });
          const lastId = Math.max(0, ...user.messages().map((m) => m.message_id));
          if (a.kind === 'button') {
            // Someone else's link ids included: the first links in the table belong to various people.
            const anyMessage = user.messages().at(-1)?.message_id ?? 1;
            const answer = await user.forgedCallback(anyMessage, a.data).answer(10_000);
            expect(typeof (answer.text ?? '')).toBe('string');
            continue;
          }
          if (a.kind === 'edit') {
            const own = user.messages().filter((m) => m.from?.id === a.who && m.text !== undefined).at(-1);
            if (!own) continue;
            user.editText(own.message_id, a.text);
          } else if (a.kind === 'contact') {
            if (a.who === STRANGER && (a.of === null || a.of === STRANGER) && a.phone === '+79000000001') strangerLoggedIn = true;
            user.sendContact({ phoneNumber: a.phone, ...(a.of !== null ? { userId: a.of } : {}) });
          } else {
            try {
              user.sendText(a.text);
            } catch {
              continue; // a Telegram client could not send it (empty after trimming)
            }
          }
          const answer = await h.emulator.botMessageAfter(a.who, lastId, 10_000).catch((err: Error) => {
            throw new Error(`${err.message} after ${JSON.stringify(a).slice(0, 300)}`);
          });
          expect((answer.text ?? '').length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 40 },
    );

    const links = await h.db.link.findMany();
    for (const link of links) {
      const url = new URL(link.url);
      expect(['http:', 'https:']).toContain(url.protocol);
      expect(url.username + url.password).toBe('');
      expect(isPrivateHost(url.hostname)).toBe(false);
      expect([ADMIN, ALICE, BOB, ...(strangerLoggedIn ? [STRANGER] : [])].map(BigInt)).toContain(link.userId);
      expect(link.chatId).toBe(link.userId);
    }
    expect(await h.db.user.count({ where: { telegramId: BigInt(STRANGER), authorised: true } })).toBe(strangerLoggedIn ? 1 : 0);
    expect((await fetch(`http://127.0.0.1:${h.httpPort}/healthz`)).status).toBe(200);
  }, 120_000);
});
