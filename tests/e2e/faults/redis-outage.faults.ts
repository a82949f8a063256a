import { waitFor } from '@dwld/testkit';
import { startOwnRedis, type OwnRedis } from '../support/own-redis';
import { FULL_LENGTH, outageMs, peopleTold, recordFault, takenMessages } from '../support/reliability';
import { ALICE, BOB, startSystem, type Sim, type System } from '../support/system';

// Longer than every client-side retry: ioredis gives a command up after maxRetriesPerRequest
// reconnections (seconds), BullMQ's workers just reconnect. The report: 60 s lost outcomes.
const OUTAGE_MS = outageMs({ seconds: 60 }, { seconds: 300 });

// Redis goes away while links flow: links accepted before it are dispatched during it, people
// keep sending links during it (the gateway stores them in PostgreSQL and answers directly),
// and after it every accepted link has been dispatched once and every person told once.
describe(`fault: Redis down for ${OUTAGE_MS / 1000} s with traffic`, () => {
  let redis: OwnRedis;
  let system: System;
  let sim: Sim;

  beforeAll(async () => {
    redis = await startOwnRedis();
    // Links wait 5 s before they go: the ones accepted just before the outage go out during it.
    system = await startSystem({ redisUrl: redis.url, env: { DISPATCH_DELAY_S: '5' } });
    sim = await system.startSim('home-nas', '*');
  });
  afterAll(async () => {
    await system?.stop();
    await redis?.stop();
  });

  it('dispatches every accepted link once, tells every person once, and every process keeps running', async () => {
    const accepted: string[] = [];
    const replies = new Map<string, string>();
    /** Sends links at once (one message each) and waits for the bot's answer to each. */
    const send = async (from: number, links: readonly string[]) => {
      const user = system.emulator.user({ id: from });
      await Promise.all(links.map(async (link) => {
        const answered = user.nextBotMessage((m) => String(m.text).split(/\s/).includes(link), 45_000);
        user.sendText(link);
        // No answer at all is no acceptance (and shows in the expectation below).
        const text = (await answered.catch(() => null))?.text ?? '(no answer)';
        replies.set(link, text);
        // Accepted = the bot said it is queued (or sent for immediate download).
        if (/Queued|immediate/.test(text)) accepted.push(link);
      }));
    };
    const links = (phase: string) => Array.from({ length: 4 }, (_, i) => `https://vimeo.com/outage-${phase}-${i}`);

    await send(ALICE, links('before'));
    await redis.down();
    const outageEnds = Date.now() + OUTAGE_MS;
    await send(BOB, links('during'));
    // The outage lasts its full length (the fault itself, not a wait for something to happen).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, outageEnds - Date.now())));
    const dispatchedDuring = new Set((await sim.received()).map((r) => r.link));
    await redis.up();
    await send(ALICE, links('after'));

    await waitFor(async () => {
      const got = new Set((await sim.received()).map((r) => r.link));
      return accepted.every((l) => got.has(l));
    }, { what: 'every accepted link dispatched', timeout: 60_000, interval: 250 }).catch(() => undefined);
    await waitFor(() => peopleTold(system.emulator, accepted).told === accepted.length, { what: 'every person told', timeout: 60_000, interval: 250 }).catch(() => undefined);

    const received = (await sim.received()).filter((r) => r.link.includes('/outage-'));
    const counts = new Map<string, number>();
    for (const r of received) counts.set(r.link, (counts.get(r.link) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    const lost = accepted.filter((l) => !counts.has(l));
    const { owed, told, repeats } = peopleTold(system.emulator, accepted);
    recordFault({
      fault: `Redis down ${OUTAGE_MS / 1000} s${FULL_LENGTH ? '' : ' (short run)'} with links sent before and during it, some dispatched during it`,
      times: 1, linksIn: accepted.length, dispatched: counts.size, duplicates, lost: lost.length, owed, told,
    });
    if (told < owed || lost.length > 0 || duplicates > 0) {
      for (const [name, proc] of system.processes) console.error(`--- ${name}\n${proc.output().slice(-6000)}`);
    }
    const untold = [...takenMessages(system.emulator, accepted).entries()].filter(([, n]) => n !== 1);
    // The "queued" reply too is said once, whether it went through the outbox or (Redis down) straight to Telegram.
    const queuedReplies = (link: string) => system.emulator.calls('sendMessage').filter((c) => c.response.ok && /Queued|immediate/.test(String(c.params.text ?? '')) && String(c.params.text).split(/\s/).includes(link)).length;
    const queuedNotOnce = accepted.filter((l) => queuedReplies(l) !== 1);
    expect({ lost, untold, queuedNotOnce, replies: [...replies.entries()].filter(([l]) => !accepted.includes(l)) }).toEqual({ lost: [], untold: [], queuedNotOnce: [], replies: [] });
    // Some links went out while Redis was down (the outcomes the outbox holds until it is back).
    expect(accepted.filter((l) => dispatchedDuring.has(l)).length).toBeGreaterThan(0);
    expect(accepted).toHaveLength(12);
    expect(duplicates).toBe(0);
    expect(repeats).toBe(0);
    for (const proc of system.processes.values()) expect(proc.child.exitCode).toBeNull();
  }, OUTAGE_MS + 180_000);
});
