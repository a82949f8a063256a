import { waitFor } from '@dwld/testkit';
import { peopleTold, recordFault } from '../support/reliability';
import { ALICE, BOB, startSystem, type Sim, type System } from '../support/system';

const OUTAGE_MS = 10_000;

// PostgreSQL goes away for 10 seconds while links flow: the gateway says so plainly and uses
// the immediate-dispatch path, the scheduler waits and resumes, no process exits, nothing is lost.
describe('fault: PostgreSQL unreachable for 10 seconds', () => {
  let system: System;
  let sim: Sim;

  beforeAll(async () => {
    system = await startSystem({ cuttableDatabase: true, env: { DISPATCH_DELAY_S: '2' } });
    sim = await system.startSim('home-nas', '*');
  });
  afterAll(() => system?.stop());

  it('tells people, dispatches every accepted link once, and every process keeps running', async () => {
    const accepted: string[] = [];
    const replies: string[] = [];
    const send = async (from: number, link: string) => {
      const user = system.emulator.user({ id: from });
      user.sendText(link);
      const reply = (await user.nextBotMessage((m) => String(m.text).split(/\s/).includes(link), 30_000)).text ?? '';
      replies.push(reply);
      if (/Queued|immediate download/.test(reply)) accepted.push(link);
    };
    for (let i = 0; i < 5; i++) await send(ALICE, `https://vimeo.com/pg-before-${i}`);

    await system.database!.cut();
    const outageEnds = Date.now() + OUTAGE_MS;
    for (let i = 0; i < 5; i++) await send(BOB, `https://vimeo.com/pg-during-${i}`);
    // The outage lasts its full length (the fault itself, not a wait for something to happen).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, outageEnds - Date.now())));
    await system.database!.restore();
    for (let i = 0; i < 5; i++) await send(ALICE, `https://vimeo.com/pg-after-${i}`);

    expect(replies.filter((r) => r.includes('immediate download'))).toHaveLength(5);
    await waitFor(async () => {
      const got = new Set((await sim.received()).map((r) => r.link));
      return accepted.every((l) => got.has(l));
    }, { what: 'every accepted link dispatched', timeout: 90_000, interval: 250 });
    // Written down after the outage, the urgent ones leave no queued row behind.
    await waitFor(async () => (await system.db.link.count()) === 0, { what: 'the queue to drain', timeout: 30_000 });
    const received = (await sim.received()).filter((r) => r.link.includes('/pg-'));
    const counts = new Map<string, number>();
    for (const r of received) counts.set(r.link, (counts.get(r.link) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    expect(accepted).toHaveLength(15);
    expect(duplicates).toBe(0);
    for (const proc of system.processes.values()) expect(proc.child.exitCode).toBeNull();
    // Each person hears once that their link was taken.
    await waitFor(() => peopleTold(system.emulator, accepted).told === accepted.length, { what: 'every person told their link was taken', timeout: 60_000, interval: 250 });
    const people = peopleTold(system.emulator, accepted);
    expect(people.repeats).toBe(0);
    recordFault({ fault: 'PostgreSQL unreachable for 10 s (connections cut) mid-run', times: 1, linksIn: accepted.length, dispatched: counts.size, duplicates, lost: accepted.filter((l) => !counts.has(l)).length, owed: people.owed, told: people.told });
  });
});
