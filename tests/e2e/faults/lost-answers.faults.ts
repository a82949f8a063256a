import { waitFor } from '@dwld/testkit';
import { peopleTold, recordFault } from '../support/reliability';
import { ALICE, BOB, startSystem, type Received, type Sim, type System } from '../support/system';

// A downloader takes a link but its answer never reaches the scheduler: the connection is cut
// right after the link was queued, or the answer comes after the scheduler's deadline. The
// downloader behaves as the deployed Go one (FLAVOUR=go: its queue unique by link, every error
// UNKNOWN), and a second, healthy downloader stands by for the same links, so a scheduler that
// took "no answer" for "not taken" would hand the link over twice. Each link must be handed over
// exactly once, and its person told once.

const LINKS = 40;
/** The scheduler's deadline in these systems (support/system.ts: DOWNLOADER_DEADLINE_S). */
const DEADLINE_S = 2;

/** A message per ten links (the gateway's MAX_LINKS_PER_MESSAGE), taking turns between two people. */
function sendLinks(system: System, links: readonly string[]): void {
  const people = [system.emulator.user({ id: ALICE }), system.emulator.user({ id: BOB })];
  for (let i = 0; i < links.length; i += 10) people[(i / 10) % 2]!.sendText(links.slice(i, i + 10).join('\n'));
}

/** Per link, the SetToQueue calls that took it or found it held already (a repeat), over every downloader. */
function taken(...received: ReadonlyArray<readonly Received[]>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of received.flat()) if (r.outcome === 'queued' || r.outcome === 'duplicate') counts.set(r.link, (counts.get(r.link) ?? 0) + 1);
  return counts;
}

interface Run {
  links: string[];
  counts: Map<string, number>;
  /** The calls whose answer was lost (the fault happening). */
  lost: Received[];
  told: ReturnType<typeof peopleTold>;
}

/** Sends the links with `faulty` set to lose `count` answers in `mode`, and waits until every link is handed over and its person told. */
async function run(system: System, faulty: Sim, healthy: Sim, mode: 'cut' | 'late', count: number): Promise<Run> {
  await faulty.setMode(mode, count);
  const links = Array.from({ length: LINKS }, (_, i) => `https://vimeo.com/${mode}/${i}`);
  sendLinks(system, links);
  await waitFor(async () => (await system.db.link.count()) === 0 && (await system.db.dispatch.count()) >= links.length && peopleTold(system.emulator, links).told === links.length, {
    what: 'every link handed over and its person told',
    timeout: 90_000,
    interval: 250,
  });
  const [atFaulty, atHealthy] = [await faulty.received(), await healthy.received()];
  return { links, counts: taken(atFaulty, atHealthy), lost: atFaulty.filter((r) => r.reply === mode), told: peopleTold(system.emulator, links) };
}

function expectOnceEach({ links, counts, told }: Run): void {
  expect(links.filter((l) => !counts.has(l))).toEqual([]);
  expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([]);
  expect(told).toEqual({ owed: links.length, told: links.length, repeats: 0 });
}

async function record(system: System, fault: string, { links, counts, lost, told }: Run): Promise<void> {
  recordFault({
    fault,
    times: lost.length,
    linksIn: links.length,
    dispatched: links.filter((l) => counts.has(l)).length,
    duplicates: [...counts.values()].filter((n) => n > 1).length,
    lost: links.filter((l) => !counts.has(l)).length,
    owed: told.owed,
    told: told.told - told.repeats,
  });
  // One history row per link: the scheduler recorded each hand-over once.
  expect(await system.db.dispatch.count()).toBe(links.length);
}

describe('fault: the connection is cut after the downloader queued the link (a lost SetToQueue answer)', () => {
  let system: System;
  let faulty: Sim;
  let healthy: Sim;

  beforeAll(async () => {
    system = await startSystem({ env: { DISPATCH_DELAY_S: '1' } });
    // vimeo.com links go to the Go-like one first (the more specific pattern), the wildcard one is the fallback.
    [faulty, healthy] = await Promise.all([
      system.startSim('cut-nas', 'vimeo.com', { env: { FLAVOUR: 'go', ASSIGN: 'vimeo.com' } }),
      system.startSim('fallback-nas', '*'),
    ]);
  });
  afterAll(() => system?.stop());

  it('hands each link over once: the downloader that may hold it is asked (its Queue) before anyone else is tried', async () => {
    const outcome = await run(system, faulty, healthy, 'cut', 12);
    // The fault did happen: links were taken and their answers cut off.
    expect(outcome.lost.length).toBeGreaterThan(0);
    expect(outcome.lost.every((r) => r.outcome === 'queued')).toBe(true);
    expectOnceEach(outcome);
    await record(system, `a downloader's connection cut after it queued the link (${outcome.lost.length} SetToQueue answers lost), a second downloader standing by`, outcome);
  });
});

describe('fault: a downloader takes the link but answers after the deadline', () => {
  let system: System;
  let faulty: Sim;
  let healthy: Sim;

  beforeAll(async () => {
    system = await startSystem({ env: { DISPATCH_DELAY_S: '1' } });
    [faulty, healthy] = await Promise.all([
      system.startSim('late-nas', 'vimeo.com', { env: { FLAVOUR: 'go', ASSIGN: 'vimeo.com', LATE_REPLY_S: String(DEADLINE_S * 2) } }),
      system.startSim('fallback-nas', '*'),
    ]);
  });
  afterAll(() => system?.stop());

  it('hands each link over once and tells each person once', async () => {
    const outcome = await run(system, faulty, healthy, 'late', 12);
    expect(outcome.lost.length).toBeGreaterThan(0);
    expect(outcome.lost.every((r) => r.outcome === 'queued')).toBe(true);
    expectOnceEach(outcome);
    await record(system, `a downloader taking the link and answering after the ${DEADLINE_S} s deadline (${outcome.lost.length} answers ${DEADLINE_S * 2} s late), a second downloader standing by`, outcome);
  });
});
