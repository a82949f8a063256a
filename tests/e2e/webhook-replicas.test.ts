import { waitFor } from '@dwld/testkit';
import { ALICE, BOB, metric, startSystem, type Sim, type System } from './support/system';

// Webhook mode with two gateway replicas behind one URL still behaves as one bot.
describe('two gateway replicas in webhook mode', () => {
  let system: System;
  let sim: Sim;

  beforeAll(async () => {
    system = await startSystem({ gateways: 2, env: { DISPATCH_DELAY_S: '2' } });
    sim = await system.startSim('home-nas', '*');
  });
  afterAll(() => system?.stop());

  it('answers every update once, shares the updates, and handles each dispatch result once', async () => {
    expect(system.emulator.isPolling()).toBe(false);
    const people = [ALICE, BOB];
    const links = Array.from({ length: 20 }, (_, i) => `https://vimeo.com/replicas/${i}`);
    for (const [i, link] of links.entries()) system.emulator.user({ id: people[i % 2]! }).sendText(link);

    await waitFor(async () => (await sim.received()).filter((r) => r.link.includes('/replicas/')).length === links.length, { what: 'every link dispatched', timeout: 60_000 });
    const taken = () => people.flatMap((id) => system.emulator.user({ id }).botMessages()).filter((m) => (m.text ?? '').includes('taken by'));
    await waitFor(() => taken().length >= links.length, { what: 'every person told', timeout: 30_000 });

    const mentions = (text: unknown, link: string) => String(text).split(/\s/).includes(link);
    for (const link of links) {
      const replies = system.emulator.calls('sendMessage').filter((c) => mentions((c.params as { text?: string }).text, link) && String((c.params as { text?: string }).text).includes('Queued'));
      expect(replies).toHaveLength(1);
      expect(taken().filter((m) => mentions(m.text, link))).toHaveLength(1);
    }
    const perReplica = await Promise.all(system.gatewayPorts.map((port) => metric(port, 'dwld_updates_total')));
    expect(perReplica.reduce((a, b) => a + b, 0)).toBe(links.length);
    for (const n of perReplica) expect(n).toBeGreaterThan(0);
  });
});
