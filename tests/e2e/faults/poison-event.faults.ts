import { waitFor } from '@dwld/testkit';
import { recordFault } from '../support/reliability';
import { ALICE, startSystem, type Sim, type System } from '../support/system';

// Entries the services can never handle land on their streams while links flow: a well-formed
// envelope (id, v, at, data as JSON) around impossible content. Each is moved to the stream's
// dead-letter stream (`<stream>:dead`) instead of blocking its consumer group or being retried
// for ever, and the links sent after them go through end to end.
//
// An entry that fails to decode is dead at its first delivery; one whose handler keeps failing
// is handed out again after EVENT_RETRY_S and dead after EVENT_MAX_DELIVERIES (short here).
const MAX_DELIVERIES = 3;

type Fields = Record<string, string>;

describe('fault: poison events on link.added and dispatch.result', () => {
  let system: System;
  let sim: Sim;

  beforeAll(async () => {
    system = await startSystem({ env: { DISPATCH_DELAY_S: '1', EVENT_RETRY_S: '1', EVENT_MAX_DELIVERIES: String(MAX_DELIVERIES) } });
    sim = await system.startSim('home-nas', '*');
  });
  afterAll(() => system?.stop());

  const stream = (type: string) => `${system.streamPrefix}:${type}`;
  const poison = (type: string, id: string, data: unknown) =>
    system.redis.xadd(stream(type), '*', 'id', id, 'v', '1', 'at', String(Date.now()), 'data', JSON.stringify(data)) as Promise<string>;
  const deadLetters = async (type: string): Promise<Fields[]> =>
    (await system.redis.xrange(`${stream(type)}:dead`, '-', '+')).map(([, flat]) => {
      const fields: Fields = {};
      for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      return fields;
    });
  const deadOne = (type: string, id: string) => waitFor(async () => (await deadLetters(type)).find((f) => f.id === id), { what: `${id} dead-lettered`, timeout: 20_000, interval: 100 });
  /** How often the group has delivered the entry so far (0 once it is acknowledged). */
  const deliveries = async (type: string, group: string, streamId: string) => {
    const reply = (await system.redis.xpending(stream(type), group, streamId, streamId, 1)) as Array<[string, string, number, number]>;
    return reply[0]?.[3] ?? 0;
  };

  const alice = () => system.emulator.user({ id: ALICE });
  const told = (link: string) => alice().botMessages().some((m) => (m.text ?? '').includes('taken by') && String(m.text).split(/\s/).includes(link));
  /** Links from the chat to the downloader, and the person told about each. */
  const endToEnd = async (links: readonly string[]) => {
    alice().sendText(links.join('\n'));
    await waitFor(async () => {
      const got = new Set((await sim.received()).map((r) => r.link));
      return links.every((l) => got.has(l) && told(l));
    }, { what: 'the links dispatched and the person told', timeout: 30_000, interval: 100 });
  };

  it('dead-letters each poison entry after the deliveries it is allowed, and links keep flowing', async () => {
    const before = Array.from({ length: 10 }, (_, i) => `https://vimeo.com/poison/before-${i}`);
    await endToEnd(before);

    // 1. link.added (read by the schedulers): no link has id -1, an empty url or that send time.
    const addedId = await poison('link.added', 'poison-link-added', { linkId: -1, url: '', host: 'vimeo.com', userId: String(ALICE), chatId: String(ALICE), username: null, quality: 'max', folder: null, sendAt: 'yesterday' });
    // 2. dispatch.result (read by the gateways): an outcome that is neither true nor false.
    const resultId = await poison('dispatch.result', 'poison-result-unreadable', { linkId: 0, urgentEventId: null, url: 'https://vimeo.com/x', userId: String(ALICE), chatId: String(ALICE), messageId: null, replyMessageId: null, ok: 'maybe', downloader: null, error: null, attempts: -1, nextAttemptAt: null, failed: false });
    const added = await deadOne('link.added', 'poison-link-added');
    expect(added).toMatchObject({ streamId: addedId, group: 'scheduler', deliveries: '1', v: '1' });
    expect(added.error).toMatch(/^invalid payload: /);
    expect(JSON.parse(added.data!)).toMatchObject({ linkId: -1, sendAt: 'yesterday' });
    const unreadable = await deadOne('dispatch.result', 'poison-result-unreadable');
    expect(unreadable).toMatchObject({ streamId: resultId, group: 'bot-gateway', deliveries: '1' });
    expect(unreadable.error).toMatch(/^invalid payload: /);

    // 3. dispatch.result that reads well but can never be handled: a failed attempt of a link id
    // past PostgreSQL's int, so looking the link up fails at every delivery. It is handed out
    // again after EVENT_RETRY_S and dead after MAX_DELIVERIES, with no restart needed.
    const stuckId = await poison('dispatch.result', 'poison-result-unhandleable', { linkId: 3_000_000_000, urgentEventId: null, url: 'https://vimeo.com/y', userId: String(ALICE), chatId: String(ALICE), messageId: null, replyMessageId: 5, ok: false, downloader: null, error: { kind: 'unavailable', message: 'x' }, attempts: 1, nextAttemptAt: null, failed: false });
    const unhandleable = await waitFor(async () => (await deadLetters('dispatch.result')).find((f) => f.id === 'poison-result-unhandleable'), { what: 'the unhandleable entry dead-lettered', timeout: 30_000, interval: 100 });
    const gatewayLog = system.processes.get('bot-gateway')!.output();
    expect(gatewayLog.split('\n').filter((line) => line.includes('Event handler failed; the entry will be retried') && line.includes('"eventId":"poison-result-unhandleable"')).length).toBe(MAX_DELIVERIES - 1);
    expect(unhandleable).toMatchObject({ streamId: stuckId, group: 'bot-gateway', deliveries: String(MAX_DELIVERIES) });
    expect(unhandleable.error).toMatch(new RegExp(`^handler failed ${MAX_DELIVERIES} times, last: `));
    expect(await deliveries('dispatch.result', 'bot-gateway', stuckId)).toBe(0);

    // Nothing is stuck behind them: new links go through, and the dead stay dead.
    const after = Array.from({ length: 10 }, (_, i) => `https://vimeo.com/poison/after-${i}`);
    await endToEnd(after);
    expect(await deadLetters('link.added')).toHaveLength(1);
    expect(await deadLetters('dispatch.result')).toHaveLength(2);

    const links = [...before, ...after];
    const counts = new Map<string, number>();
    for (const r of (await sim.received()).filter((x) => x.link.includes('/poison/'))) counts.set(r.link, (counts.get(r.link) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    expect([...counts.keys()].sort()).toEqual([...links].sort());
    expect(duplicates).toBe(0);
    recordFault({
      fault: `poison events: link.added and dispatch.result that cannot be read (dead at delivery 1), dispatch.result whose handler always fails (dead at delivery ${MAX_DELIVERIES}, EVENT_RETRY_S=1)`,
      times: 3,
      linksIn: links.length,
      dispatched: counts.size,
      duplicates,
      lost: links.filter((l) => !counts.has(l)).length,
    });
  });
});
