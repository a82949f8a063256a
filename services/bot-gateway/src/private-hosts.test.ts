import type { Database } from '@dwld/db';
import type { TelegramEmulator } from '@dwld/telegram-emulator';
import { ADMIN, ALICE, API_TOKEN, startHarness, type Harness } from './testing/harness';

// Link hosts whose names resolve only inward are refused; the names come from the test's own
// DNS server (the harness points DNS_SERVERS at it).
describe('links to names that resolve to private addresses', () => {
  let h: Harness;
  let emulator: TelegramEmulator;
  let db: Database;
  beforeAll(async () => {
    h = await startHarness();
    ({ emulator, db } = h);
    h.dns.set('inward.test', ['127.0.0.1']);
    h.dns.set('metadata.test', ['169.254.169.254']);
    h.dns.set('mapped.test', ['::ffff:10.0.0.7', 'fe80::1']);
    h.dns.set('public.test', ['93.184.215.14']);
  });
  afterAll(() => h.stop());

  const postLinks = (port: number, links: string[]) =>
    fetch(`http://127.0.0.1:${port}/links`, { method: 'POST', body: JSON.stringify({ links: links.map((link) => ({ link })) }), headers: { authorization: `Bearer ${API_TOKEN}` } });

  it('refuses them in chat with a clear reason, queues the public one beside them, and stores nothing refused', async () => {
    const alice = emulator.user({ id: ALICE });
    await alice.sendText('https://inward.test/admin\nhttp://metadata.test/latest/meta-data/\nhttps://mapped.test/x\nhttps://public.test/video');
    const replies = [await emulator.nextBotMessage(ALICE), await emulator.nextBotMessage(ALICE), await emulator.nextBotMessage(ALICE), await emulator.nextBotMessage(ALICE)];
    // One reply per link; the outbox does not promise their order within the chat.
    const replyAbout = (host: string) => replies.filter((reply) => reply.text?.includes(host));
    for (const host of ['inward.test', 'metadata.test', 'mapped.test']) {
      expect(replyAbout(host)).toEqual([expect.objectContaining({ text: expect.stringContaining('resolves only to local or private network addresses') })]);
    }
    expect(replyAbout('public.test')).toEqual([expect.objectContaining({ text: expect.stringContaining('Queued') })]);
    expect((await db.link.findMany({ select: { host: true } })).map((l) => l.host)).toEqual(['public.test']);
  });

  it('refuses them over POST /links too, link by link', async () => {
    const res = await postLinks(h.httpPort, ['https://inward.test/api', 'https://public.test/api']);
    expect(res.status).toBe(207);
    const { results } = (await res.json()) as { results: Array<Record<string, unknown>> };
    expect(results[0]).toEqual({ status: 'rejected', reason: 'private_address' });
    expect(results[1]).toMatchObject({ status: 'queued', url: 'https://public.test/api' });
    expect(await db.link.count({ where: { host: 'inward.test' } })).toBe(0);
  });

  it('asks DNS once per name while its answer is fresh', async () => {
    const before = h.dns.queries('inward.test');
    await postLinks(h.httpPort, ['https://inward.test/again', 'https://inward.test/and-again']);
    expect(h.dns.queries('inward.test')).toBe(before);
  });

  it('takes a name that cannot be resolved (no refusal without an answer)', async () => {
    const res = await postLinks(h.httpPort, ['https://unknown-name.test/v']);
    expect(res.status).toBe(200);
  });

  it('takes them with ALLOW_PRIVATE_HOSTS=true', async () => {
    // A gateway of its own (its own bot, so its own outbox and prefix), same database.
    const open = await h.startGateway({ ALLOW_PRIVATE_HOSTS: 'true', TELEGRAM_BOT_TOKEN: '4567890:private-hosts-allowed-bot-emulated', STREAM_PREFIX: `${h.ns.prefix}-open` });
    const res = await postLinks(open.httpPort, ['https://inward.test/allowed', 'https://metadata.test/allowed']);
    expect(res.status).toBe(200);
    expect(await db.link.count({ where: { userId: BigInt(ADMIN), host: { in: ['inward.test', 'metadata.test'] } } })).toBe(2);
  });
});
