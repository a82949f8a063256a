import { get } from 'node:http';
import { BotConnection } from '@dwld/contract';
import { waitFor } from '@dwld/testkit';
import { flood, type FloodCall, type FloodReport } from '../support/registration-flood';
import { peopleTold, recordFault, takenMessages } from '../support/reliability';
import { ALICE, BOB, metric, startSystem, type Sim, type System } from '../support/system';

const CALLS = 10_000;
const SECONDS = 10;
/** The flood comes from this many addresses (127.0.0.2…): more than one caller, none of them the downloaders'. */
const ADDRESSES = 16;
/** The registry's heap cap in every test and deployment (--max-old-space-size, see @dwld/testkit's SERVICE_MEMORY_ENV and the Dockerfile). */
const HEAP_CAP_BYTES = 64 * 1024 * 1024;
/** MAX_DOWNLOADERS' default. */
const MAX_DOWNLOADERS = 200;

const longPatterns = Array.from({ length: 256 }, (_, i) => `p${i}-${'x'.repeat(50)}.example.com`);
const oversized = Array.from({ length: 256 }, (_, i) => `p${i}-${'y'.repeat(240)}.example.com`);
const smallJunk: Array<Partial<FloodCall['request']>> = [
  { serverName: '' },
  { serverName: 'bad\u0000name' },
  { serverPort: 0 },
  { serverPort: 70_000 },
  { serverHost: 'not a host!' },
  { allowedRootLinks: ['', ' '] },
  { allowedRootLinks: ['not a host', '-bad.com'] },
];

/** Link numbers of one width: no link is the beginning of another (people are told by texts that contain their link). */
const pad = (i: number) => String(i).padStart(4, '0');

/** A downloader address nothing listens on, on this machine only (loopback). */
const nowhere = (i: number) => ({ serverHost: `127.254.${(i >> 8) & 255}.${i & 255}`, serverPort: 9 });

/**
 * The i-th call: 3 in 10 valid registrations of new names (flood-<i>, a pattern no link of the
 * test matches); with a token, 1 in 10 re-registers the simulated downloader's own name at an
 * address of the attacker's (without one, that is allowed: README); the rest junk, small and
 * large, 1 in 100 larger than the registry reads. With a token, the flood sends none or a wrong one.
 */
function floodCall(i: number, withToken: boolean): FloodCall {
  const valid = { serverName: `flood-${i}`, ...nowhere(i), allowedRootLinks: [`flood-${i}.example`] };
  const token = withToken && i % 2 === 0 ? 'a-wrong-registration-token-000' : undefined;
  const kind = i % 10;
  if (kind <= 2) return { request: valid, token };
  if (kind === 3 && withToken) return { request: { serverName: 'home-nas', ...nowhere(i), allowedRootLinks: ['*'] }, token };
  if (kind === 7) return { request: { ...valid, allowedRootLinks: longPatterns }, token };
  if (kind === 8) return { request: { ...valid, serverName: 'n'.repeat(200) }, token };
  if (kind === 9 && i % 100 === 9) return { request: { ...valid, allowedRootLinks: oversized }, token };
  return { request: { ...valid, ...smallJunk[i % smallJunk.length] } as FloodCall['request'], token };
}

/**
 * GET /healthz on a connection of its own, as an orchestrator's probe does (a kept-alive
 * connection the server closes as the next request is sent fails for reasons of its own).
 */
function probeHealthz(port: number, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (err) => resolve(err.message));
  });
}

/** dwld_registrations_total by outcome, from the registry's /metrics. */
async function registrationOutcomes(port: number): Promise<Record<string, number>> {
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const outcomes: Record<string, number> = {};
  for (const match of body.matchAll(/^dwld_registrations_total\{outcome="([a-z_]+)"[^}]*\} (\d+)$/gm)) outcomes[match[1]!] = Number(match[2]);
  return outcomes;
}

describe.each([
  { label: 'no token', token: undefined },
  { label: 'REGISTRATION_TOKEN set; the flood sends none or a wrong one', token: 'flood-fault-registration-token-01' },
])('fault: a registration flood, 10,000 RegisterDownloader calls in 10 s ($label)', ({ label, token }) => {
  let system: System;
  let sim: Sim;

  beforeAll(async () => {
    system = await startSystem({ registryEnv: token ? { REGISTRATION_TOKEN: token } : {}, env: { DISPATCH_DELAY_S: '2' } });
    sim = await system.startSim('home-nas', '*', token ? { env: { REGISTRATION_TOKEN: token } } : {});
  });
  afterAll(() => system?.stop());

  it('stays up under its heap cap, answers its health checks, stores nothing but valid rows, and every accepted link goes out once', async () => {
    const registry = system.processes.get('registry')!;
    const simRow = await system.db.downloader.findUniqueOrThrow({ where: { name: 'home-nas' } });
    const grpcHealth = new BotConnection(`127.0.0.1:${system.registryGrpc}`, { ownConnection: true });

    // Watching while it floods: the registry's health over HTTP and gRPC, and its heap.
    const probes = { http: 0, grpc: 0, failed: [] as string[] };
    let heapPeak = 0;
    let flooding = true;
    const watch = (async () => {
      while (flooding) {
        const [http, serving, heap] = await Promise.all([
          probeHealthz(system.registryHttp, 15_000),
          grpcHealth.health(15_000).catch((err: Error) => err.message),
          metric(system.registryHttp, 'nodejs_heap_size_used_bytes').catch(() => 0),
        ]);
        if (http === 200) probes.http += 1;
        else probes.failed.push(`/healthz: ${http}`);
        if (serving === 'SERVING') probes.grpc += 1;
        else probes.failed.push(`grpc health: ${serving}`);
        heapPeak = Math.max(heapPeak, heap);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();

    // Links flow the whole time, one after the other, from two people.
    const accepted: string[] = [];
    const send = async (from: number, link: string) => {
      const user = system.emulator.user({ id: from });
      user.sendText(link);
      const reply = await user.nextBotMessage((m) => String(m.text).split(/\s/).includes(link), 60_000);
      if (/Queued|immediate/.test(reply.text ?? '')) accepted.push(link);
    };
    const run = token ? 'token' : 'open';
    for (let i = 0; i < 5; i++) await send(ALICE, `https://vimeo.com/flood-${run}-before-${pad(i)}`);

    const floodStart = new Date();
    let report: FloodReport | undefined;
    const flooded = flood({ registryPort: system.registryGrpc, calls: CALLS, seconds: SECONDS, addresses: ADDRESSES, call: (i) => floodCall(i, token !== undefined), deadlineMs: 20_000, maxOutstanding: CALLS }).then((r) => (report = r));
    for (let i = 0; report === undefined; i++) await send(i % 2 ? ALICE : BOB, `https://vimeo.com/flood-${run}-during-${pad(i)}`);
    await flooded;
    flooding = false;
    await watch;
    grpcHealth.close();
    for (let i = 0; i < 5; i++) await send(BOB, `https://vimeo.com/flood-${run}-after-${pad(i)}`);

    // The registry is up (the code before issue 21 died here: "Reached heap limit").
    if (registry.child.exitCode !== null || registry.child.signalCode !== null) {
      throw new Error(`the registry died during the flood (exit ${registry.child.exitCode ?? registry.child.signalCode}):\n${registry.output().slice(-3000)}`);
    }
    const outcomes = await registrationOutcomes(system.registryHttp);
    const rows = await system.db.downloader.findMany({ orderBy: { name: 'asc' } });
    const answers = Object.entries(report!.answers).map(([code, n]) => `${code} ${n}`).join(', ');
    const registryOutcomes = Object.entries(outcomes).map(([outcome, n]) => `${outcome} ${n}`).join(', ');
    process.stdout.write(`registration flood (${label}): ${CALLS} calls in ${(report!.elapsedMs / 1000).toFixed(1)} s from ${ADDRESSES} addresses: ${answers} (registry: ${registryOutcomes}); registry heap peak ${(heapPeak / 1048576).toFixed(1)} MiB of ${HEAP_CAP_BYTES / 1048576}; ${probes.http} + ${probes.grpc} health checks answered, failed: ${JSON.stringify(probes.failed)}; ${rows.length} rows stored\n`);

    // The registry is up, and was never out of its depth.
    expect(registry.child.exitCode).toBeNull();
    expect(registry.child.signalCode).toBeNull();
    expect(registry.output()).not.toMatch(/heap limit|FATAL/);
    expect(probes.failed).toEqual([]);
    expect(probes.http).toBeGreaterThan(0);
    expect(heapPeak).toBeGreaterThan(0);
    expect(heapPeak).toBeLessThan(HEAP_CAP_BYTES);
    expect(report!.sent).toBe(CALLS);
    // Per caller address, most of the flood was turned away before any work.
    expect(outcomes.rate_limited).toBeGreaterThan(0);

    // The simulated downloader still registers (it re-registers every 2 s), at its own address.
    await waitFor(async () => (await system.db.downloader.findUniqueOrThrow({ where: { name: 'home-nas' } })).registeredAt > floodStart, { what: 'the simulated downloader to register again after the flood began', timeout: 30_000 });

    // Nothing but valid rows.
    expect(rows.find((r) => r.name === 'home-nas')).toMatchObject({ host: simRow.host, port: simRow.port, allowedPatterns: ['*'] });
    const others = rows.filter((r) => r.name !== 'home-nas');
    if (token) {
      expect(others).toEqual([]);
    } else {
      expect(rows.length).toBeLessThanOrEqual(MAX_DOWNLOADERS);
      for (const row of others) {
        expect(row.name).toMatch(/^flood-\d+$/);
        const i = Number(row.name.slice('flood-'.length));
        expect(i % 10).toBeLessThanOrEqual(2);
        expect(row).toMatchObject({ host: nowhere(i).serverHost, port: 9, allowedPatterns: [`${row.name}.example`] });
      }
    }

    // Every accepted link went out once, and its person was told once.
    await waitFor(async () => {
      const got = new Set((await sim.received()).map((r) => r.link));
      return accepted.every((l) => got.has(l));
    }, { what: 'every accepted link dispatched', timeout: 90_000, interval: 250 });
    await waitFor(() => peopleTold(system.emulator, accepted).told === accepted.length, { what: 'everyone told their link was taken', timeout: 60_000, interval: 250 });
    const received = (await sim.received()).filter((r) => r.link.includes(`/flood-${run}-`));
    const counts = new Map<string, number>();
    for (const r of received) counts.set(r.link, (counts.get(r.link) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    const twice = [...counts].filter(([, n]) => n > 1).map(([link]) => link);
    if (twice.length > 0) {
      const lines = [...system.processes].flatMap(([name, proc]) => proc.output().split('\n').filter((l) => twice.some((t) => l.includes(t))).map((l) => `${name}: ${l}`));
      process.stdout.write(`handed over more than once: ${twice.join(' ')}\n${JSON.stringify(received.filter((r) => twice.includes(r.link)))}\n${lines.join('\n')}\n`);
    }
    const people = peopleTold(system.emulator, accepted);
    const toldTwice = [...takenMessages(system.emulator, accepted)].filter(([, n]) => n > 1).map(([link]) => link);
    if (toldTwice.length > 0) process.stdout.write(`told more than once: ${toldTwice.join(' ')}\n${JSON.stringify(system.emulator.calls('sendMessage').filter((c) => toldTwice.some((t) => String(c.params.text).includes(t))).map((c) => ({ chat: c.params.chat_id, ok: c.response.ok, text: c.params.text })))}\n${system.processes.get('bot-gateway')!.output().split('\n').filter((l) => toldTwice.some((t) => l.includes(t))).join('\n')}\n`);
    expect(accepted.length).toBeGreaterThanOrEqual(10);
    expect(duplicates).toBe(0);
    expect(people.repeats).toBe(0);
    for (const proc of system.processes.values()) expect(proc.child.exitCode).toBeNull();

    recordFault({
      fault: `registration flood: ${CALLS.toLocaleString('en')} RegisterDownloader calls in ${SECONDS} s from ${ADDRESSES} addresses, junk and valid mixed (${token ? 'with REGISTRATION_TOKEN; none or a wrong one sent' : 'no REGISTRATION_TOKEN'}), links flowing`,
      times: 1,
      linksIn: accepted.length,
      dispatched: counts.size,
      duplicates,
      lost: accepted.filter((l) => !counts.has(l)).length,
      owed: people.owed,
      told: people.told,
    });
  });
});
