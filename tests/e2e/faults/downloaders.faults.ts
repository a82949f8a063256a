import { waitFor } from '@dwld/testkit';
import { recordFault } from '../support/reliability';
import { ALICE, BOB, startSystem, type Received, type Sim, type System } from '../support/system';

// Downloaders misbehave while links flow: one hangs past every deadline, one keeps going down
// and up, one moves to another port. The scheduler routes around, retries and follows, and
// every link reaches a downloader that took it, once.

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

function figures(links: readonly string[], counts: Map<string, number>) {
  return {
    linksIn: links.length,
    dispatched: links.filter((l) => counts.has(l)).length,
    duplicates: [...counts.values()].filter((n) => n > 1).length,
    lost: links.filter((l) => !counts.has(l)).length,
  };
}

describe('fault: a downloader hangs (every SetToQueue runs into the deadline) beside a healthy one', () => {
  let system: System;
  let stuck: Sim;
  let healthy: Sim;

  beforeAll(async () => {
    system = await startSystem({ env: { DISPATCH_DELAY_S: '1' } });
    // Its health checks still answer: it stays "healthy", so it keeps being tried first half the time.
    [stuck, healthy] = await Promise.all([system.startSim('stuck-nas', '*', { mode: 'hang' }), system.startSim('healthy-nas', '*')]);
  });
  afterAll(() => system?.stop());

  it('hands every link to the healthy one, once', async () => {
    const links = Array.from({ length: 40 }, (_, i) => `https://vimeo.com/hang/${i}`);
    sendLinks(system, links);
    await waitFor(async () => taken(await healthy.received()).size === links.length && (await system.db.link.count()) === 0, {
      what: 'every link at the healthy downloader',
      timeout: 60_000,
      interval: 250,
    });
    const counts = taken(await healthy.received());
    const hung = await stuck.received();
    expect([...counts.keys()].sort()).toEqual([...links].sort());
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    // The fault did happen, and the hanging one never took anything.
    expect(hung.length).toBeGreaterThan(0);
    expect(hung.every((r) => r.outcome === 'hung')).toBe(true);
    expect(await system.db.dispatch.count({ where: { downloader: 'healthy-nas' } })).toBe(links.length);
    recordFault({ fault: `a downloader hanging on every call (${hung.length} calls ran into the 2 s deadline) beside a healthy one`, times: hung.length, ...figures(links, counts) });
  });
});

describe('fault: the only downloader flaps (down, up, down, …) while links arrive', () => {
  let system: System;
  let flaky: Sim;

  beforeAll(async () => {
    system = await startSystem({ env: { DISPATCH_DELAY_S: '1' } });
    flaky = await system.startSim('flaky-nas', '*');
  });
  afterAll(() => system?.stop());

  it('dispatches every link exactly once: failed tries are retried, none is taken twice', async () => {
    const outcomes = async (outcome: string) => (await flaky.received()).filter((r) => r.outcome === outcome).length;
    const links: string[] = [];
    let switches = 0;
    // Each cycle: a wave of links arrives while it is down and its calls fail; it comes back and takes some.
    for (let cycle = 0; cycle < 4; cycle++) {
      const [failedBefore, queuedBefore] = [await outcomes('failed'), await outcomes('queued')];
      await flaky.setMode('fail');
      switches++;
      const wave = Array.from({ length: 10 }, (_, i) => `https://vimeo.com/flap/${cycle}-${i}`);
      links.push(...wave);
      sendLinks(system, wave);
      await waitFor(async () => (await outcomes('failed')) >= failedBefore + 3, { what: `calls failing in cycle ${cycle}`, timeout: 20_000, interval: 100 });
      await flaky.setMode('ok');
      switches++;
      await waitFor(async () => (await outcomes('queued')) >= queuedBefore + 3, { what: `links taken again in cycle ${cycle}`, timeout: 20_000, interval: 100 });
    }
    await waitFor(async () => taken(await flaky.received()).size === links.length && (await system.db.link.count()) === 0, { what: 'every link dispatched', timeout: 60_000, interval: 250 });

    const counts = taken(await flaky.received());
    expect([...counts.keys()].sort()).toEqual([...links].sort());
    expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(await outcomes('failed')).toBeGreaterThanOrEqual(4 * 3);
    // One history row per link, and no link given up.
    expect(await system.db.dispatch.count()).toBe(links.length);
    recordFault({ fault: `the only downloader flapping between down and up (${switches} switches) while links arrive`, times: switches, ...figures(links, counts) });
  });
});

describe('fault: a downloader re-registers under the same name on another port mid-run', () => {
  let system: System;

  beforeAll(async () => {
    system = await startSystem({ env: { DISPATCH_DELAY_S: '1' } });
  });
  afterAll(() => system?.stop());

  it('sends the links after the move to the new address, and loses none around it', async () => {
    const old = await system.startSim('mobile-nas', '*');
    const wave = (name: string) => Array.from({ length: 10 }, (_, i) => `https://vimeo.com/move/${name}-${i}`);
    const [before, gap, after] = [wave('before'), wave('gap'), wave('after')];
    sendLinks(system, before);
    await waitFor(async () => taken(await old.received()).size === before.length, { what: 'the first links at the old address', timeout: 20_000, interval: 100 });
    // Mid-run: more links are on their way (due in a second) when it goes away. Told to act as
    // down first, so that what it took is known before its record goes with the process.
    sendLinks(system, gap);
    await old.setMode('fail');
    const atOld = taken(await old.received());
    await old.stop();
    // Those links are tried at the address it left, fail, and wait for their next try.
    await waitFor(async () => (await system.db.link.count({ where: { url: { in: gap }, attempts: { gte: 1 } } })) === gap.length, { what: 'the links in the gap to fail at the old address', timeout: 20_000, interval: 100 });
    const moved = await system.startSim('mobile-nas', '*');
    expect(moved.grpcPort).not.toBe(old.grpcPort);
    sendLinks(system, after);
    const links = [...before, ...gap, ...after];

    await waitFor(async () => {
      const atNew = taken(await moved.received());
      return links.every((l) => atOld.has(l) || atNew.has(l)) && (await system.db.link.count()) === 0;
    }, { what: 'every link dispatched', timeout: 60_000, interval: 250 });
    const atNew = taken(await moved.received());
    const counts = new Map<string, number>();
    for (const [link, n] of [...atOld, ...atNew]) counts.set(link, (counts.get(link) ?? 0) + n);
    expect(before.filter((l) => !atOld.has(l))).toEqual([]);
    expect([...gap, ...after].filter((l) => !atNew.has(l))).toEqual([]);
    expect(links.filter((l) => !counts.has(l))).toEqual([]);
    expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([]);
    expect(await system.db.dispatch.count()).toBe(links.length);
    recordFault({ fault: 'a downloader stopped and re-registered under the same name on another port mid-run', times: 1, ...figures(links, counts) });
  });
});
