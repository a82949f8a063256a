import { Prisma } from '@dwld/db';
import { waitFor } from '@dwld/testkit';
import { peopleTold, recordFault } from '../support/reliability';
import { ALICE, BOB, metric, startSystem, type Received, type Sim, type System } from '../support/system';

// The downloaders table full of junk: 2,000 rows of 256 long patterns each (~30 MB), written
// straight into the table as a flood of registrations would have left them (the registry caps
// registrations, but the schedulers must not depend on that). Before, every poll's claim
// shipped the whole table as JSON (~28 MB a poll) and an idle scheduler sat at a quarter of a
// core. Now the schedulers hold the routing list in memory and read it again only when it
// changes: links still go out once each, and polls read nothing of the table.
//
// The registry is stopped before the junk goes in: its health round reads every row whole and
// today runs out of its heap on this table (another part of issue 21). This probe is about the
// schedulers, which need no registry to dispatch to a downloader already registered.

const JUNK_ROWS = 2_000;
const PATTERNS_PER_ROW = 256;
const SCHEDULERS = 2;

/** A message per ten links (the gateway's MAX_LINKS_PER_MESSAGE), taking turns between two people. */
function sendLinks(system: System, links: readonly string[]): void {
  const people = [system.emulator.user({ id: ALICE }), system.emulator.user({ id: BOB })];
  for (let i = 0; i < links.length; i += 10) people[(i / 10) % 2]!.sendText(links.slice(i, i + 10).join('\n'));
}

/** The calls a downloader took the link in (queued, or already held: a repeat), per link. */
function taken(received: readonly Received[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of received) if (r.outcome === 'queued' || r.outcome === 'duplicate') counts.set(r.link, (counts.get(r.link) ?? 0) + 1);
  return counts;
}

/** A series summed over every scheduler replica's /metrics. */
async function acrossSchedulers(system: System, name: string): Promise<number> {
  const values = await Promise.all(system.schedulerHttp.map((port) => metric(port, name)));
  return values.reduce((sum, v) => sum + v, 0);
}

describe('fault: 2,000 junk downloader registrations of 256 long patterns each sit in the table', () => {
  let system: System;
  let nas: Sim;

  beforeAll(async () => {
    system = await startSystem({ schedulers: SCHEDULERS, env: { DISPATCH_DELAY_S: '1' } });
    nas = await system.startSim('real-nas', '*');
    const registry = system.processes.get('registry')!;
    registry.child.kill('SIGTERM');
    await registry.exited;
  }, 60_000);
  afterAll(() => system?.stop());

  it('dispatches every link once, and the schedulers\' polls read nothing of the table (an idle one stays idle)', async () => {
    const loadsBeforeJunk = await acrossSchedulers(system, 'dwld_scheduler_routes_loads_total');
    await system.db.$executeRaw(Prisma.sql`
      INSERT INTO downloaders (name, host, port, allowed_patterns, registered_at, last_seen_at, updated_at)
      SELECT 'junk-' || i, '127.0.0.1', 1,
             ARRAY(SELECT 'junk-' || i || '-' || j || '-' || repeat('x', 40) || '.invalid' FROM generate_series(1, ${PATTERNS_PER_ROW}::int) AS j),
             now(), now(), now()
        FROM generate_series(1, ${JUNK_ROWS}::int) AS i`);
    const [junk] = await system.db.$queryRaw<Array<{ bytes: bigint }>>`SELECT sum(octet_length(array_to_string(allowed_patterns, '')))::bigint AS bytes FROM downloaders`;
    // A change of the table: each replica reads it once (its next claim sees the version move).
    await waitFor(async () => {
      const held = await Promise.all(system.schedulerHttp.map((port) => metric(port, 'dwld_scheduler_routes_downloaders')));
      return held.every((n) => n === JUNK_ROWS + 1);
    }, { what: 'every scheduler holding the junk', timeout: 60_000, interval: 250 });
    expect((await acrossSchedulers(system, 'dwld_scheduler_routes_loads_total')) - loadsBeforeJunk).toBeGreaterThanOrEqual(SCHEDULERS);

    const version = async () => Number((await system.db.$queryRaw<Array<{ version: bigint }>>`SELECT version FROM downloaders_version WHERE id = 1`)[0]!.version);
    const before = {
      version: await version(),
      polls: await acrossSchedulers(system, 'dwld_scheduler_polls_total'),
      loads: await acrossSchedulers(system, 'dwld_scheduler_routes_loads_total'),
      cpu: await metric(system.schedulerHttp[0]!, 'process_cpu_seconds_total'),
      at: Date.now(),
    };

    // Idle: ten polls of the first replica with nothing to claim (its CPU is reported, not judged).
    const idlePolls = (await metric(system.schedulerHttp[0]!, 'dwld_scheduler_polls_total')) + 10;
    await waitFor(async () => (await metric(system.schedulerHttp[0]!, 'dwld_scheduler_polls_total')) >= idlePolls, { what: 'ten idle polls', timeout: 30_000, interval: 250 });
    const idleCpu = (await metric(system.schedulerHttp[0]!, 'process_cpu_seconds_total')) - before.cpu;
    const idleSeconds = (Date.now() - before.at) / 1000;
    const heapMb = Math.round((await metric(system.schedulerHttp[0]!, 'nodejs_heap_size_used_bytes')) / 1e6);

    // Then links, routed past 2,000 downloaders that take none of them.
    const links = Array.from({ length: 40 }, (_, i) => `https://vimeo.com/junk/${i}`);
    sendLinks(system, links);
    let counts = new Map<string, number>();
    await waitFor(async () => {
      counts = taken(await nas.received());
      return links.every((l) => counts.has(l)) && (await system.db.link.count()) === 0;
    }, { what: 'every link dispatched', timeout: 60_000, interval: 250 });
    await waitFor(() => peopleTold(system.emulator, links).told === links.length, { what: 'every person told', timeout: 30_000, interval: 250 });

    const after = {
      version: await version(),
      polls: await acrossSchedulers(system, 'dwld_scheduler_polls_total'),
      loads: await acrossSchedulers(system, 'dwld_scheduler_routes_loads_total'),
    };
    const polls = after.polls - before.polls;
    const loads = after.loads - before.loads;
    const changes = after.version - before.version;

    expect(links.filter((l) => !counts.has(l))).toEqual([]);
    expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([]);
    expect(await system.db.dispatch.count()).toBe(links.length);
    // Polls came and went, and the table was read again only for a change of it (none here:
    // nothing registers), never for a poll: before, each of these polls shipped all of it.
    expect(polls).toBeGreaterThanOrEqual(10 * SCHEDULERS);
    expect(changes).toBe(0);
    expect(loads).toBe(0);
    const told = peopleTold(system.emulator, links);
    expect(told.repeats).toBe(0);

    const cpuShare = Math.round((idleCpu / idleSeconds) * 1000) / 10;
    const mb = Math.round(Number(junk!.bytes) / 1e5) / 10;
    recordFault({
      fault: `${JUNK_ROWS.toLocaleString('en')} junk downloader rows of ${PATTERNS_PER_ROW} long patterns (${mb} MB) written into the table: each scheduler read it once; then ${polls} polls read it ${loads} times, and an idle scheduler used ${cpuShare}% of a core over ${Math.round(idleSeconds)} s (heap ${heapMb} MB, the list included)`,
      times: 1,
      linksIn: links.length,
      dispatched: links.filter((l) => counts.has(l)).length,
      duplicates: [...counts.values()].filter((n) => n > 1).length,
      lost: links.filter((l) => !counts.has(l)).length,
      owed: told.owed,
      told: told.told,
    });
  });
});
