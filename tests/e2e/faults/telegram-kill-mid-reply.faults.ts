import { waitFor } from '@dwld/testkit';
import { peopleTold, recordFault } from '../support/reliability';
import { ALICE, startSystem, type Sim, type System } from '../support/system';

// A SIGKILL proven to land mid-batch: a message with several links has been handled (every link
// stored, every reply queued in the outbox) and the first reply's sendMessage is in flight, held
// by the emulator (a hang fault: accepted, never answered, never carried out), when the gateway
// is killed. gateway-crash.faults.ts kills it at a moment it cannot choose; here the moment is
// certain. After the restart each reply goes out once and each link is dispatched once.
describe('fault: the gateway SIGKILLed between storing links and replying', () => {
  let system: System;
  let sim: Sim;

  beforeAll(async () => {
    system = await startSystem({ env: { DISPATCH_DELAY_S: '3' } });
    sim = await system.startSim('home-nas', '*');
  });
  afterAll(() => system?.stop());

  it('replies once and dispatches once after the restart', async () => {
    const { emulator } = system;
    const alice = emulator.user({ id: ALICE });
    const batch = Array.from({ length: 5 }, (_, i) => `https://vimeo.com/kill-mid-${i}`);
    const single = 'https://vimeo.com/kill-mid-single';
    const links = [...batch, single];
    const queuedReplies = (link: string) => emulator.calls('sendMessage').filter((c) => c.response.ok && String(c.params.text).includes('Queued') && String(c.params.text).includes(link)).length;

    emulator.hang('sendMessage');
    await alice.sendText(batch.join('\n'));
    await alice.sendText(single);
    // The proof: every link stored, the first reply held in flight, no reply delivered.
    await waitFor(async () => (await system.db.link.count({ where: { url: { in: links } } })) === links.length, { what: 'every link stored' });
    const held = await emulator.waitForHungCall('sendMessage', (c) => String(c.params.text).includes(batch[0]!), 15_000);
    expect(held.ran).toBe(false);
    expect(links.map(queuedReplies)).toEqual(links.map(() => 0));
    expect(alice.botMessages()).toEqual([]);
    expect((await sim.received()).length).toBe(0);

    emulator.clearFaults();
    const restarted = system.crashAndRestart('bot-gateway');
    await restarted;
    await waitFor(() => emulator.hungCalls().length === 0, { what: 'the held call to end with its connection' });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${system.gatewayHttp}/readyz`).catch(() => null))?.status === 200, { what: 'the gateway back' });

    await waitFor(() => links.every((l) => queuedReplies(l) >= 1), { what: 'every reply sent after the restart', timeout: 60_000, interval: 250 });
    await waitFor(async () => new Set((await sim.received()).map((r) => r.link)).size === links.length, { what: 'every link dispatched', timeout: 60_000, interval: 250 });
    await waitFor(() => peopleTold(emulator, links).told === links.length, { what: 'Alice told about every link', timeout: 60_000 });

    const counts = new Map<string, number>();
    for (const r of await sim.received()) counts.set(r.link, (counts.get(r.link) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    const told = peopleTold(emulator, links);
    expect(duplicates).toBe(0);
    expect(links.map(queuedReplies)).toEqual(links.map(() => 1));
    expect(told.repeats).toBe(0);
    recordFault({
      fault: 'bot-gateway SIGKILLed mid-batch: links stored, their replies queued, the first one in flight (held by Telegram) — owed: a "queued" reply and a "taken by" per link',
      times: 1,
      linksIn: links.length,
      dispatched: counts.size,
      duplicates,
      lost: links.filter((l) => !counts.has(l)).length,
      owed: told.owed + links.length,
      told: told.told - told.repeats + links.filter((l) => queuedReplies(l) === 1).length,
    });
  });
});
