import { waitFor } from '@dwld/testkit';
import { FULL_LENGTH, outageMs, peopleTold, recordFault } from '../support/reliability';
import { ALICE, API_TOKEN, BOB, metric, startSystem, type Sim, type System } from '../support/system';

// Telegram answers 500 to every call (sending, polling, everything) for minutes while links
// keep coming in over HTTP and in chats, and the downloader takes them and results come back.
// Before issue 21 a message was given up after 8 tries (~2 minutes of backoff): people lost the
// replies they were owed. Now it is retried until TELEGRAM_GIVE_UP_AFTER_S (a day).
//
// The short (CI) run lowers the retry cap to 2 s (TELEGRAM_RETRY_CAP_S): 8 tries then span
// well under the 45 s outage, which makes every owed message fail far more than 8 times (the
// test checks). The recorded run keeps the default cap (60 s) through a 5 minute outage.
const OUTAGE_MS = outageMs({ seconds: 45 }, { seconds: 300 });
const RETRY_CAP_S = FULL_LENGTH ? '60' : '2';
// Eight people, a link each over HTTP and one in chat: few messages per chat, so that each is
// tried often at the chat's pace of one call a second.
const PEOPLE = [ALICE, BOB, 202, 203, 204, 205, 206, 207];

describe(`fault: Telegram answers 500 to every call for ${OUTAGE_MS / 1000} s`, () => {
  let system: System;
  let sim: Sim;

  beforeAll(async () => {
    system = await startSystem({
      // Telegram's real pace (one message a second per chat), which the emulator enforces below.
      env: { DISPATCH_DELAY_S: '2', TELEGRAM_CHAT_INTERVAL_S: '1', TELEGRAM_RETRY_CAP_S: RETRY_CAP_S, ALLOWED_IDS: PEOPLE.join(',') },
    });
    // A little slack under the gateway's 1 s for the calls' own jitter; 30/s for the bot.
    system.emulator.setFloodLimits({ perSecond: 30, chatIntervalMs: 900 });
    sim = await system.startSim('home-nas', '*');
  });
  afterAll(() => system?.stop());

  it('tells every person every reply they are owed, once, when it ends; no process exits; never rate-limited', async () => {
    const { emulator } = system;
    const people = PEOPLE.map((id) => emulator.user({ id }));
    const viaApi = PEOPLE.map((id) => ({ owner: id, link: `https://vimeo.com/tg500-api-${id}` }));
    const viaChat = PEOPLE.map((id) => ({ owner: id, link: `https://vimeo.com/tg500-chat-${id}` }));
    const links = [...viaApi, ...viaChat].map((l) => l.link);

    emulator.failUntilCleared('*', { errorCode: 500 });
    const outageEnds = Date.now() + OUTAGE_MS;
    // Links over HTTP are accepted meanwhile; their cards wait in the outbox.
    for (const id of PEOPLE) {
      const res = await fetch(`http://127.0.0.1:${system.gatewayHttp}/links`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}` },
        body: JSON.stringify({ userId: id, links: viaApi.filter((l) => l.owner === id).map(({ link }) => ({ link })) }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { results: Array<{ status: string }> }).results.map((r) => r.status)).toEqual(['queued']);
    }
    // Messages sent in the chats wait at Telegram (getUpdates fails too), with some chatter that
    // only earns service replies.
    for (const [i, person] of people.entries()) {
      await person.sendText(viaChat[i]!.link);
      if (i < 2) for (let n = 0; n < 3; n++) await person.sendText(`hello ${n}`);
    }
    // The links go out meanwhile: their "taken by" messages are owed too.
    await waitFor(async () => new Set((await sim.received()).map((r) => r.link)).size >= viaApi.length, { what: 'the API links dispatched during the outage', timeout: 60_000, interval: 250 });
    const during = await (await fetch(`http://127.0.0.1:${system.gatewayHttp}/readyz`)).json() as { status: string; checks: Record<string, string> };
    expect(during.status).toBe('ready');
    expect(during.checks.telegram).toMatch(/^failing: since .*HTTP 500/);
    // The outage lasts its full length (the fault itself, not a wait for something to happen).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, outageEnds - Date.now())));
    expect(people.every((p) => p.botMessages().length === 0)).toBe(true);
    emulator.clearFaults();

    await waitFor(async () => new Set((await sim.received()).map((r) => r.link)).size === links.length, { what: 'every link dispatched', timeout: 120_000, interval: 250 });
    const queuedReplies = (link: string) => emulator.calls('sendMessage').filter((c) => c.response.ok && String(c.params.text).includes('Queued') && String(c.params.text).includes(link)).length;
    await waitFor(() => peopleTold(emulator, links).told === links.length && links.every((l) => queuedReplies(l) >= 1), {
      what: 'every person told about every link (queued and taken)',
      timeout: 180_000,
      interval: 500,
    });
    await waitFor(async () => (await metric(system.gatewayHttp, 'dwld_stream_lag')) === 0, { what: 'the results handled' });

    const counts = new Map<string, number>();
    for (const r of await sim.received()) counts.set(r.link, (counts.get(r.link) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    const taken = peopleTold(emulator, links);
    const queuedTwice = links.filter((l) => queuedReplies(l) > 1);
    const rateLimited = emulator.calls().filter((c) => !c.response.ok && c.response.error_code === 429);
    expect(duplicates).toBe(0);
    expect(taken.repeats).toBe(0);
    expect(queuedTwice).toEqual([]);
    expect(rateLimited).toEqual([]);
    expect(await metric(system.gatewayHttp, 'dwld_telegram_abandoned_total')).toBe(0);
    // The calls did fail, every card several times and some far more often than the old 8
    // tries (in the short run; the recorded one, at the default cap, tries each about a dozen
    // times in 5 minutes). How often depends on how many messages share the chat's pace.
    const failedTries = viaApi.map(({ link }) => emulator.calls('sendMessage').filter((c) => !c.response.ok && String(c.params.text).includes('Queued') && String(c.params.text).includes(link)).length);
    expect(Math.min(...failedTries)).toBeGreaterThan(3);
    expect(Math.max(...failedTries)).toBeGreaterThan(8);
    for (const proc of system.processes.values()) expect(proc.child.exitCode).toBeNull();
    // Owed per link: its "queued" reply and its "taken by" message.
    const queuedTold = links.filter((l) => queuedReplies(l) === 1).length;
    recordFault({
      fault: `Telegram answering HTTP 500 to every call for ${OUTAGE_MS / 1000} s (links in over HTTP and chat, results coming back; owed: a "queued" reply and a "taken by" per link)`,
      times: 1,
      linksIn: links.length,
      dispatched: counts.size,
      duplicates,
      lost: links.filter((l) => !counts.has(l)).length,
      owed: taken.owed + links.length,
      told: taken.told - taken.repeats + queuedTold,
    });
  }, OUTAGE_MS + 180_000);
});
