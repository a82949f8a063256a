import { waitFor } from '@dwld/testkit';
import { recordFault } from '../support/reliability';
import { ALICE, startSystem, type Sim, type System } from '../support/system';

// SIGKILL the gateway while links arrive and while dispatch results come back: Telegram keeps
// unconfirmed updates, the consumer group keeps unacknowledged results, so after a restart
// nothing is lost and nobody is told twice.
describe('fault: the gateway is SIGKILLed mid-traffic', () => {
  let system: System;
  let sim: Sim;

  beforeAll(async () => {
    system = await startSystem({ env: { DISPATCH_DELAY_S: '1' } });
    sim = await system.startSim('home-nas', '*');
  });
  afterAll(() => system?.stop());

  it('dispatches every link once and tells the person about each after the restart', async () => {
    const alice = system.emulator.user({ id: ALICE });
    const links = Array.from({ length: 30 }, (_, i) => `https://vimeo.com/crash-${i}`);
    const gatewayHttp = system.gatewayHttp;
    // Between storing and replying: kill it while the first batch is being handled.
    for (const link of links.slice(0, 15)) alice.sendText(link);
    await waitFor(async () => (await system.db.link.count()) + (await system.db.dispatch.count()) > 0, { what: 'the first link stored' });
    await system.crashAndRestart('bot-gateway');
    await waitFor(async () => (await fetch(`http://127.0.0.1:${gatewayHttp}/readyz`).catch(() => null))?.status === 200, { what: 'the gateway back' });
    // Between a dispatch result and acting on it: kill it again once results are flowing.
    for (const link of links.slice(15)) alice.sendText(link);
    await waitFor(async () => (await sim.received()).length > 0, { what: 'the first dispatch', timeout: 30_000 });
    await system.crashAndRestart('bot-gateway');
    await waitFor(async () => (await fetch(`http://127.0.0.1:${gatewayHttp}/readyz`).catch(() => null))?.status === 200, { what: 'the gateway back again' });

    await waitFor(async () => new Set((await sim.received()).map((r) => r.link)).size === links.length, { what: 'every link dispatched', timeout: 90_000, interval: 250 });
    const told = () => alice.botMessages().filter((m) => (m.text ?? '').includes('taken by'));
    await waitFor(() => links.every((l) => told().some((m) => String(m.text).split(/\s/).includes(l))), { what: 'the person told about every link', timeout: 60_000 });

    const counts = new Map<string, number>();
    for (const r of await sim.received()) counts.set(r.link, (counts.get(r.link) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    if (duplicates > 0) {
      // What the downloader received twice, and what the database says of those links: the cause is in there.
      const twice = [...counts.entries()].filter(([, n]) => n > 1).map(([l]) => l);
      const received = (await sim.received()).filter((r) => twice.includes(r.link));
      const history = await system.db.dispatch.findMany({ where: { url: { in: twice } }, orderBy: { id: 'asc' } });
      console.error('sent twice:', JSON.stringify({ received, history: history.map((h) => ({ url: h.url, linkId: h.linkId, messageId: h.messageId, attempts: h.attempts, at: h.dispatchedAt })) }, null, 1));
    }
    expect([...counts.keys()].sort()).toEqual([...links].sort());
    expect(duplicates).toBe(0);
    const toldTwice = links.filter((l) => told().filter((m) => String(m.text).split(/\s/).includes(l)).length > 1);
    expect(toldTwice).toEqual([]);
    recordFault({ fault: 'bot-gateway SIGKILLed while storing/replying and again while handling dispatch results', times: 2, linksIn: links.length, dispatched: counts.size, duplicates, lost: links.filter((l) => !counts.has(l)).length });
  });
});
