import { waitFor } from '@dwld/testkit';
import { ADMIN, ALICE, API_TOKEN, startSystem, type Sim, type System } from './support/system';

// Host names that resolve only inward (loopback, the cloud metadata address) are refused at the
// intake, over Telegram and over POST /links, and never reach a downloader; a name that
// resolves to a public address goes through. The names come from the test's own DNS server.
const NAMES = { 'inward.test': ['127.0.0.1'], 'metadata.test': ['169.254.169.254'], 'public.test': ['93.184.215.14'] };

function postLinks(system: System, links: string[]): Promise<Response> {
  return fetch(`http://127.0.0.1:${system.gatewayHttp}/links`, { method: 'POST', body: JSON.stringify({ links: links.map((link) => ({ link })) }), headers: { authorization: `Bearer ${API_TOKEN}` } });
}

describe('links to hosts that resolve to private addresses (the whole system)', () => {
  let system: System;
  let sim: Sim;

  beforeAll(async () => {
    system = await startSystem({ env: { DISPATCH_DELAY_S: '1' } });
    for (const [name, addresses] of Object.entries(NAMES)) system.dns.set(name, addresses);
    sim = await system.startSim('any-nas', '*');
  });
  afterAll(() => system?.stop());

  it('refuses them in chat and over POST /links, and hands only the public one over', async () => {
    const alice = system.emulator.user({ id: ALICE });
    await alice.sendText('https://inward.test/admin http://metadata.test/latest/meta-data/iam https://public.test/video');
    for (const host of ['inward.test', 'metadata.test']) {
      const refusal = await alice.nextBotMessage((m) => (m.text ?? '').includes(host));
      expect(refusal.text).toContain('resolves only to local or private network addresses');
    }
    const res = await postLinks(system, ['https://inward.test/api', 'http://metadata.test/api', 'https://public.test/api']);
    expect(res.status).toBe(207);
    const { results } = (await res.json()) as { results: Array<{ status: string; reason?: string }> };
    expect(results.map((r) => r.reason ?? r.status)).toEqual(['private_address', 'private_address', 'queued']);

    await alice.nextBotMessage((m) => (m.text ?? '').includes('taken by') && (m.text ?? '').includes('public.test/video'), 30_000);
    await waitFor(async () => (await system.db.dispatch.count()) === 2 && (await system.db.link.count()) === 0, { what: 'both public links handed over', timeout: 30_000 });
    expect((await sim.received()).map((r) => r.link).sort()).toEqual(['https://public.test/api', 'https://public.test/video']);
    expect(await system.db.dispatch.count({ where: { host: { in: ['inward.test', 'metadata.test'] } } })).toBe(0);
  });
});

describe('links to hosts that resolve to private addresses with ALLOW_PRIVATE_HOSTS=true', () => {
  let system: System;
  let sim: Sim;

  beforeAll(async () => {
    system = await startSystem({ env: { DISPATCH_DELAY_S: '1', ALLOW_PRIVATE_HOSTS: 'true' } });
    for (const [name, addresses] of Object.entries(NAMES)) system.dns.set(name, addresses);
    sim = await system.startSim('lan-nas', '*');
  });
  afterAll(() => system?.stop());

  it('takes and hands them over', async () => {
    const alice = system.emulator.user({ id: ALICE });
    await alice.sendText('https://inward.test/lan-video');
    await alice.nextBotMessage((m) => (m.text ?? '').includes('taken by') && (m.text ?? '').includes('inward.test'), 30_000);
    const res = await postLinks(system, ['http://metadata.test/allowed']);
    expect(res.status).toBe(200);
    await waitFor(async () => (await system.db.dispatch.count()) === 2, { what: 'both links handed over', timeout: 30_000 });
    expect((await sim.received()).map((r) => r.link).sort()).toEqual(['http://metadata.test/allowed', 'https://inward.test/lan-video']);
    expect((await system.db.dispatch.findMany({ select: { userId: true }, orderBy: { userId: 'asc' } })).map((d) => d.userId)).toEqual([BigInt(ADMIN), BigInt(ALICE)]);
  });
});
