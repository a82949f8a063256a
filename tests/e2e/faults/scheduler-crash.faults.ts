import { waitFor } from '@dwld/testkit';
import { recordFault } from '../support/reliability';
import { ADMIN, ALICE, BOB, metric, startSystem, type Sim, type System } from '../support/system';

const LINKS = 300;
const CONCURRENCY = 8;
const LEASE_S = 4;
const DEADLINE_S = 2;

// Three schedulers share a burst of a few hundred due links; one is SIGKILLed while it holds
// claims and has calls in flight. Its claims run out after the lease and the other two take
// them: every link reaches a downloader, and only a link the dead one had already handed over
// (but not yet recorded) can go out twice — at most the calls it had in flight.
describe('fault: a scheduler is SIGKILLed mid-batch', () => {
  let system: System;
  let sims: Sim[];

  beforeAll(async () => {
    system = await startSystem({
      schedulers: 3,
      env: { DISPATCH_DELAY_S: '1', CLAIM_LEASE_S: String(LEASE_S), DOWNLOADER_DEADLINE_S: String(DEADLINE_S), DISPATCH_CONCURRENCY: String(CONCURRENCY) },
    });
    sims = await Promise.all([system.startSim('nas-a', '*'), system.startSim('nas-b', '*')]);
  });
  afterAll(() => system?.stop());

  it('dispatches every link, the dead one’s claims taken over, duplicates bounded by its calls in flight', async () => {
    const admin = system.emulator.user({ id: ADMIN });
    const say = async (text: string, answer: string) => {
      admin.sendText(text);
      await admin.nextBotMessage((m) => (m.text ?? '').includes(answer), 20_000);
    };
    // Held while they arrive, so that they are all due together: one burst for three schedulers.
    await say('/pooloff', 'paused');
    const links = Array.from({ length: LINKS }, (_, i) => `https://vimeo.com/sched-crash/${i}`);
    const people = [system.emulator.user({ id: ALICE }), system.emulator.user({ id: BOB })];
    for (let i = 0; i < links.length; i += 10) people[(i / 10) % 2]!.sendText(links.slice(i, i + 10).join('\n'));
    await waitFor(async () => (await system.db.link.count({ where: { sendAt: { lte: new Date() } } })) === LINKS, { what: `all ${LINKS} links stored and due`, timeout: 30_000, interval: 100 });

    const received = async () => (await Promise.all(sims.map((s) => s.received()))).flat().filter((r) => r.link.includes('/sched-crash/'));
    const victim = 'scheduler-1';
    const victimPort = system.schedulerHttp[1]!;
    await say('/poolon', 'resumed');
    // Mid-batch: dispatches have started and the victim holds claims. It is frozen (SIGSTOP)
    // to look at its claims without a race, and killed only when it holds some.
    const proc = system.processes.get(victim)!;
    const owner = `${victim}#%`;
    const claimsHeld = async () => (await system.db.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM links WHERE claim_owner LIKE ${owner}`)[0]!.n;
    await waitFor(
      async () => {
        if ((await metric(victimPort, 'dwld_scheduler_links_dispatched_total')) === 0) return false;
        proc.child.kill('SIGSTOP');
        if ((await claimsHeld()) > 0) return true;
        proc.child.kill('SIGCONT');
        return false;
      },
      { what: `${victim} dispatching while holding claims`, timeout: 20_000, interval: 5 },
    );
    proc.child.kill('SIGKILL');
    await proc.exited;
    // What it left behind: claimed, maybe already handed over, not recorded.
    const orphaned = await system.db.$queryRaw<Array<{ id: number; url: string; expires: Date }>>`
      SELECT id, url, claim_expires_at AS expires FROM links WHERE claim_owner LIKE ${owner}`;
    expect(orphaned.length).toBeGreaterThan(0);
    expect(orphaned.length).toBeLessThanOrEqual(CONCURRENCY);

    await waitFor(async () => new Set((await received()).map((r) => r.link)).size === LINKS && (await system.db.link.count()) === 0, { what: 'every link dispatched', timeout: 60_000, interval: 250 });
    const counts = new Map<string, number>();
    for (const r of await received()) counts.set(r.link, (counts.get(r.link) ?? 0) + 1);
    const duplicated = [...counts.entries()].filter(([, n]) => n > 1);
    expect([...counts.keys()].sort()).toEqual([...links].sort());
    // Only what the dead one had in flight can go out twice, and only twice.
    expect(duplicated.length).toBeLessThanOrEqual(CONCURRENCY);
    expect(duplicated.filter(([link, n]) => n !== 2 || !orphaned.some((o) => o.url === link))).toEqual([]);
    // The survivors waited for its leases to run out, and recorded each link once.
    const history = await system.db.dispatch.findMany({ where: { linkId: { in: orphaned.map((o) => o.id) } } });
    expect(history).toHaveLength(orphaned.length);
    for (const row of history) expect(row.dispatchedAt.getTime()).toBeGreaterThanOrEqual(orphaned.find((o) => o.id === row.linkId)!.expires.getTime());
    expect(await system.db.dispatch.count()).toBe(LINKS);
    const survivors = await Promise.all([0, 2].map((i) => metric(system.schedulerHttp[i]!, 'dwld_scheduler_links_dispatched_total')));
    expect(survivors.every((n) => n > 0)).toBe(true);
    recordFault({
      fault: `one of three schedulers SIGKILLed mid-batch holding ${orphaned.length} claims (lease ${LEASE_S} s, ${CONCURRENCY} calls at most in flight)`,
      times: 1,
      linksIn: LINKS,
      dispatched: counts.size,
      duplicates: duplicated.length,
      lost: links.filter((l) => !counts.has(l)).length,
    });
  });
});
