import { waitFor } from '@dwld/testkit';
import { startOwnRedis, type OwnRedis } from '../support/own-redis';
import { ALICE, BOB, startSystem, type Sim, type System } from '../support/system';
import { peopleTold, recordFault } from '../support/reliability';

// Redis (append-only) restarts while links flow: every service reconnects on its own, no
// event is lost, BullMQ jobs survive, every accepted link is dispatched once.
describe('fault: Redis restarts mid-run', () => {
  let redis: OwnRedis;
  let system: System;
  let sim: Sim;

  beforeAll(async () => {
    redis = await startOwnRedis();
    system = await startSystem({ redisUrl: redis.url, env: { DISPATCH_DELAY_S: '2' } });
    sim = await system.startSim('home-nas', '*');
  });
  afterAll(async () => {
    await system?.stop();
    await redis?.stop();
  });

  it('loses nothing and keeps every process running', async () => {
    const accepted: string[] = [];
    const send = async (from: number, batch: string) => {
      for (let i = 0; i < 10; i++) {
        const link = `https://vimeo.com/redis-${batch}-${i}`;
        const user = system.emulator.user({ id: from });
        user.sendText(link);
        const reply = await user.nextBotMessage((m) => String(m.text).split(/\s/).includes(link), 30_000);
        // Accepted = the bot said it is queued (or sent for immediate download).
        if (/Queued|immediate/.test(reply.text ?? '')) accepted.push(link);
      }
    };
    await send(ALICE, 'before');
    await redis.restart();
    await send(BOB, 'after');

    await waitFor(async () => {
      const got = new Set((await sim.received()).map((r) => r.link));
      return accepted.every((l) => got.has(l));
    }, { what: 'every accepted link dispatched', timeout: 90_000, interval: 250 });
    const received = (await sim.received()).filter((r) => r.link.includes('/redis-'));
    const counts = new Map<string, number>();
    for (const r of received) counts.set(r.link, (counts.get(r.link) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    expect(accepted).toHaveLength(20);
    expect(duplicates).toBe(0);
    for (const proc of system.processes.values()) expect(proc.child.exitCode).toBeNull();
    // Each person hears once that their link was taken.
    await waitFor(() => peopleTold(system.emulator, accepted).told === accepted.length, { what: 'every person told their link was taken', timeout: 60_000, interval: 250 });
    const people = peopleTold(system.emulator, accepted);
    expect(people.repeats).toBe(0);
    recordFault({ fault: 'Redis (append-only) restarted once mid-run', times: 1, linksIn: accepted.length, dispatched: counts.size, duplicates, lost: accepted.filter((l) => !counts.has(l)).length, owed: people.owed, told: people.told });
  });
});
