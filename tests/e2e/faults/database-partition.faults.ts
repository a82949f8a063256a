import { waitFor } from '@dwld/testkit';
import { FULL_LENGTH, outageMs, peopleTold, recordFault } from '../support/reliability';
import { ALICE, BOB, metric, startSystem, type Sim, type System } from '../support/system';

// Longer than every client-side timeout of the services' pools at their defaults (query 20 s,
// connect 3-5 s), so each one is met during the partition, not only the readiness check's.
const PARTITION_MS = outageMs({ seconds: 30 }, { seconds: 120 });

// PostgreSQL goes silent while links flow: a partition that holds every byte and closes nothing,
// as a network that drops packets (or a failover that leaves the old address dark) does. No
// client hears of it but by its own timeouts. Each service's /readyz turns false within seconds,
// /metrics keeps answering, no process exits, each says so once; when the network returns they
// resume by themselves, every accepted link is dispatched once and every person told.
describe(`fault: PostgreSQL silent (bytes held, nothing closed) for ${PARTITION_MS / 1000} seconds`, () => {
  let system: System;
  let sim: Sim;

  beforeAll(async () => {
    system = await startSystem({ cuttableDatabase: true, env: { DISPATCH_DELAY_S: '2' } });
    sim = await system.startSim('home-nas', '*');
  });
  afterAll(async () => {
    system?.database?.release();
    await system?.stop();
  });

  it('turns every /readyz false within seconds, keeps every process up, and afterwards dispatches every accepted link once with every person told', async () => {
    const accepted: string[] = [];
    const replies: string[] = [];
    /** Sends the links at once (a reply may take a pool's timeout to come) and collects what each person is told. */
    const send = async (from: number, links: string[]) => {
      const user = system.emulator.user({ id: from });
      await Promise.all(
        links.map(async (link) => {
          const reply = user.nextBotMessage((m) => String(m.text).split(/\s/).includes(link), 90_000);
          user.sendText(link);
          const text = (await reply).text ?? '';
          replies.push(text);
          if (/Queued|immediate download/.test(text)) accepted.push(link);
        }),
      );
    };
    const services = [
      { name: 'bot-gateway', port: system.gatewayHttp },
      { name: 'scheduler-0', port: system.schedulerHttp[0]! },
      { name: 'registry', port: system.registryHttp },
    ];
    const readiness = async (port: number) => (await fetch(`http://127.0.0.1:${port}/readyz`)).json() as Promise<{ status: string; checks: Record<string, string> }>;

    await send(ALICE, Array.from({ length: 5 }, (_, i) => `https://vimeo.com/partition-before-${i}`));

    system.database!.hold();
    const partitionEnds = Date.now() + PARTITION_MS;
    const during = send(BOB, Array.from({ length: 5 }, (_, i) => `https://vimeo.com/partition-during-${i}`));
    for (const { name, port } of services) {
      // Within a few seconds: the readiness check has a timeout of its own (2 s), whatever the pools' are.
      await waitFor(async () => (await readiness(port)).status === 'not ready', { what: `${name}'s /readyz to turn false`, timeout: 10_000, interval: 250 });
      expect((await readiness(port)).checks.database).toMatch(/failing|timed out/);
      // /metrics never waits on the database.
      expect(await metric(port, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    }
    // The dispatch loop gives up on its held query by its own timeout and says so, while the
    // partition lasts: it does not hang until the network returns (or the kernel gives up).
    const failedPolls = async () => {
      const body = await (await fetch(`http://127.0.0.1:${system.schedulerHttp[0]}/metrics`)).text();
      return Number(/^dwld_scheduler_polls_total\{[^}]*outcome="error"[^}]*\} (\d+)$/m.exec(body)?.[1] ?? 0);
    };
    await waitFor(async () => (await failedPolls()) > 0, { what: 'the scheduler to give up on a poll during the partition (it hangs without a query timeout)', timeout: Math.max(1_000, partitionEnds - Date.now()), interval: 250 });
    await during;
    // Each process that met the partition says so once, however many of its queries failed.
    for (const { name } of services) {
      const proc = system.processes.get(name)!;
      await waitFor(() => proc.output().includes('database unreachable'), { what: `${name} to log the partition`, timeout: Math.max(1_000, partitionEnds - Date.now()) });
    }
    // The partition lasts its full length (the fault itself, not a wait for something to happen).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, partitionEnds - Date.now())));
    for (const proc of system.processes.values()) expect(proc.child.exitCode).toBeNull();
    system.database!.release();

    await send(ALICE, Array.from({ length: 5 }, (_, i) => `https://vimeo.com/partition-after-${i}`));
    for (const { name, port } of services) {
      await waitFor(async () => (await readiness(port)).status === 'ready', { what: `${name}'s /readyz to turn true again`, timeout: 30_000, interval: 250 });
    }
    await waitFor(async () => {
      const got = new Set((await sim.received()).map((r) => r.link));
      return accepted.every((l) => got.has(l));
    }, { what: 'every accepted link dispatched', timeout: 120_000, interval: 250 });
    await waitFor(async () => (await system.db.link.count()) === 0, { what: 'the queue to drain', timeout: 60_000 });
    await waitFor(() => peopleTold(system.emulator, accepted).told === accepted.length, { what: 'every person told', timeout: 60_000, interval: 250 });

    const received = (await sim.received()).filter((r) => r.link.includes('/partition-'));
    const counts = new Map<string, number>();
    for (const r of received) counts.set(r.link, (counts.get(r.link) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    const { owed, told, repeats } = peopleTold(system.emulator, accepted);
    recordFault({
      fault: `PostgreSQL silent for ${PARTITION_MS / 1000} s (a proxy holding bytes, nothing closed) mid-run${FULL_LENGTH ? '' : ' (CI length)'}`,
      times: 1,
      linksIn: accepted.length,
      dispatched: counts.size,
      duplicates,
      lost: accepted.filter((l) => !counts.has(l)).length,
      owed,
      told,
    });
    expect(replies).toHaveLength(15);
    expect(accepted).toHaveLength(15);
    expect(duplicates).toBe(0);
    expect(repeats).toBe(0);
    for (const { name } of services) {
      const output = system.processes.get(name)!.output();
      expect({ name, unreachable: output.split('database unreachable').length - 1 }).toEqual({ name, unreachable: 1 });
      expect(output).toContain('database reachable again');
    }
    for (const proc of system.processes.values()) expect(proc.child.exitCode).toBeNull();
  }, PARTITION_MS + 180_000);
});
