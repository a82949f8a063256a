import { waitFor } from '@dwld/testkit';
import { outageMs, peopleTold, recordFault } from '../support/reliability';
import { ALICE, API_TOKEN, startSystem, type Sim, type System } from '../support/system';

// Telegram cannot be reached (connection refused) when the gateway starts. Before issue 21 the
// gateway exited 1 (a crash loop under a restart policy). Now it starts, takes links over HTTP,
// reports Telegram in /readyz without being unready for it, and once Telegram is back it
// receives updates and every reply goes out.
const DOWN_MS = outageMs({ seconds: 15 }, { seconds: 60 });

describe(`fault: Telegram unreachable when the gateway starts (${DOWN_MS / 1000} s)`, () => {
  let system: System;
  let sim: Sim;

  beforeAll(async () => {
    // startSystem waits for every gateway's /readyz: a gateway that crashed, or that Telegram
    // made unready, would fail it here.
    system = await startSystem({ env: { DISPATCH_DELAY_S: '2', TELEGRAM_RETRY_CAP_S: '2' }, beforeServices: ({ emulator }) => emulator.down() });
  });
  afterAll(() => system?.stop());

  it('starts, reports Telegram down, takes links; answers every link once Telegram is up', async () => {
    const { emulator, gatewayHttp } = system;
    const downSince = Date.now();
    const health = await fetch(`http://127.0.0.1:${gatewayHttp}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${gatewayHttp}/readyz`);
    const text = await ready.text();
    expect(ready.status).toBe(200);
    expect(JSON.parse(text)).toMatchObject({ status: 'ready', checks: { database: 'ok', redis: 'ok', telegram: expect.stringMatching(/^failing: (not reached yet|since \S+: ECONNREFUSED)$/) } });
    expect(text).not.toMatch(/https?:|127\.0\.0\.1|\/bot/);

    sim = await system.startSim('home-nas', '*');
    const apiLink = 'https://vimeo.com/tg-down-api';
    const res = await fetch(`http://127.0.0.1:${gatewayHttp}/links`, { method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}` }, body: JSON.stringify({ userId: ALICE, links: [{ link: apiLink }] }) });
    expect(res.status).toBe(200);
    // Telegram stays away a while longer (the fault itself, not a wait for something to happen).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, downSince + DOWN_MS - Date.now())));
    for (const proc of system.processes.values()) expect(proc.child.exitCode).toBeNull();
    expect(emulator.calls()).toEqual([]);

    // Alice has a chat with the bot (the API link's card goes there once Telegram answers).
    const alice = emulator.user({ id: ALICE });
    await emulator.up();
    await waitFor(async () => ((await (await fetch(`http://127.0.0.1:${gatewayHttp}/readyz`)).json()) as { checks: Record<string, string> }).checks.telegram === 'ok', { what: 'Telegram reported reachable', timeout: 30_000 });
    const chatLink = 'https://vimeo.com/tg-down-chat';
    await alice.sendText(chatLink);
    const card = await alice.nextBotMessage((m) => (m.text ?? '').includes(chatLink), 30_000);
    expect(card.text).toContain('Queued');
    const links = [apiLink, chatLink];
    await waitFor(async () => new Set((await sim.received()).map((r) => r.link)).size === links.length, { what: 'both links dispatched', timeout: 60_000, interval: 250 });
    await waitFor(() => peopleTold(emulator, links).told === links.length, { what: 'Alice told about both', timeout: 60_000 });
    const queuedReplies = (link: string) => emulator.calls('sendMessage').filter((c) => c.response.ok && String(c.params.text).includes('Queued') && String(c.params.text).includes(link)).length;
    await waitFor(() => queuedReplies(apiLink) === 1, { what: 'the API link’s card sent' });

    const counts = new Map<string, number>();
    for (const r of await sim.received()) counts.set(r.link, (counts.get(r.link) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    const told = peopleTold(emulator, links);
    expect(duplicates).toBe(0);
    expect(told.repeats).toBe(0);
    expect(links.map(queuedReplies)).toEqual([1, 1]);
    for (const proc of system.processes.values()) expect(proc.child.exitCode).toBeNull();
    recordFault({
      fault: `Telegram unreachable (connection refused) when the gateway starts, for ${DOWN_MS / 1000} s (a link taken over HTTP meanwhile, one in chat after; owed: a "queued" reply and a "taken by" per link)`,
      times: 1,
      linksIn: links.length,
      dispatched: counts.size,
      duplicates,
      lost: links.filter((l) => !counts.has(l)).length,
      owed: told.owed + links.length,
      told: told.told - told.repeats + links.filter((l) => queuedReplies(l) === 1).length,
    });
  }, DOWN_MS + 120_000);
});
