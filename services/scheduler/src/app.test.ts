import { DownloaderClient } from '@dwld/contract';
import { connectDatabase, type Database, type DatabaseAccess } from '@dwld/db';
import { EventPublisher, linkAdded, linkUrgent, streamKey, type EventInput } from '@dwld/events';
import { silentLogger } from '@dwld/logger';
import { createRedisNamespace, createTestDatabase, deferred, waitFor, type RedisNamespace, type TestDatabase } from '@dwld/testkit';
import { CONSUMER_GROUP, SchedulerApp } from './app';
import { parseSchedulerConfig } from './config';
import { urgentResultEventId } from './decisions';
import { startGoDownloader, GO_UNIQUE_ERROR, type RunningGoDownloader } from '@dwld/go-downloader';
import { CuttableProxy, FakeDownloader, Status, groupCaughtUp, readResults, refuse, register } from './testing/harness';

describe('scheduler (real PostgreSQL, Redis and gRPC downloaders)', () => {
  let database: TestDatabase;
  let redisNs: RedisNamespace;
  let access: DatabaseAccess;
  let db: Database;
  const apps: SchedulerApp[] = [];
  const downloaders: FakeDownloader[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    [database, redisNs] = await Promise.all([createTestDatabase(), createRedisNamespace('scheduler')]);
    access = connectDatabase(database.url, { poolSize: 6 });
    db = access.db;
  });
  afterAll(async () => {
    await db.$disconnect();
    await Promise.all([database.drop(), redisNs.cleanup()]);
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
    await Promise.all(downloaders.splice(0).map((d) => d.stop()));
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await db.link.deleteMany();
    await db.dispatch.deleteMany();
    await db.downloader.deleteMany();
    await db.setting.deleteMany();
    const keys = await redisNs.redis.keys(`${redisNs.prefix}:*`);
    if (keys.length > 0) await redisNs.redis.del(...keys);
  });

  async function startApp(env: Record<string, string> = {}, options: { database?: DatabaseAccess } = {}) {
    const config = parseSchedulerConfig({
      DATABASE_URL: database.url,
      REDIS_URL: redisNs.url,
      STREAM_PREFIX: redisNs.prefix,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      SCHEDULER_INTERVAL_S: '0.05',
      CLAIM_LEASE_S: '10',
      DOWNLOADER_DEADLINE_S: '2',
      RETRY_BASE_S: '60',
      ...env,
    });
    const app = new SchedulerApp({ config, ...(options.database ?? access), redis: redisNs.redis, logger: silentLogger() });
    apps.push(app);
    const { httpPort } = await app.start();
    return { app, httpPort };
  }

  async function downloader(name: string, patterns: string[], behaviour?: FakeDownloader['behaviour'], healthy = true) {
    const d = await FakeDownloader.start(name, behaviour);
    downloaders.push(d);
    await register(db, d, patterns, healthy);
    return d;
  }

  let counter = 0;
  function addLink(url: string, extra: Partial<{ quality: string; folder: string | null; username: string | null; sendAt: Date }> = {}) {
    const host = new URL(url).hostname;
    counter++;
    return db.link.create({
      data: {
        url, host, chatId: 100n + BigInt(counter), userId: 200n + BigInt(counter), username: 'ann', quality: '720', folder: null,
        messageId: 10, replyMessageId: 11, sendAt: new Date(Date.now() - 1000), ...extra,
      },
    });
  }

  const publisher = () => new EventPublisher({ redis: redisNs.redis, prefix: redisNs.prefix });

  const gone = (id: number) => async () => (await db.link.count({ where: { id } })) === 0;

  /** The dispatch.result events once `enough` holds: each is published just after its row is written, so it is waited for. */
  const resultsWhen = (enough: (results: Awaited<ReturnType<typeof readResults>>) => boolean) =>
    waitFor(async () => {
      const results = await readResults(redisNs.redis, redisNs.prefix);
      return enough(results) ? results : undefined;
    }, { what: 'the dispatch results published' });

  async function pollsPass(app: SchedulerApp, count: number) {
    const target = app.scheduler.polls + count;
    await waitFor(() => app.scheduler.polls >= target, { what: `${count} more polls` });
  }

  it('routes by exact host, parent domain and wildcard; no match is recorded as no_downloader and retried', async () => {
    const yt = await downloader('yt', ['youtube.com']);
    const vk = await downloader('vk', ['vk.com']);
    const { app } = await startApp({ RETRY_BASE_S: '0.1', RETRY_CAP_S: '0.2' });
    const vkLink = await addLink('https://vk.com/video1', { folder: 'Films', quality: 'max' });
    const ytLink = await addLink('https://m.youtube.com/watch?v=1', { username: null });
    const lost = await addLink('https://notyoutube.com/x');
    app.scheduler.wake();

    await waitFor(async () => (await gone(vkLink.id)()) && (await gone(ytLink.id)()), { what: 'the routed links' });
    expect(vk.calls).toEqual([{ link: 'https://vk.com/video1', userName: '[ann] Films', maxQuality: 10000 }]);
    expect(yt.calls).toEqual([{ link: 'https://m.youtube.com/watch?v=1', userName: String(ytLink.userId), maxQuality: 720 }]);

    const failed = await waitFor(async () => {
      const row = await db.link.findUnique({ where: { id: lost.id } });
      return row && row.attempts >= 1 ? row : undefined;
    });
    expect(failed.status).toBe('queued');
    expect(failed.lastError).toBe('no downloader takes links from notyoutube.com');
    const results = await resultsWhen((all) => [lost.id, vkLink.id].every((id) => all.some((r) => r.payload.linkId === id)));
    const noMatch = results.find((r) => r.payload.linkId === lost.id)!;
    expect(noMatch.payload).toMatchObject({ ok: false, error: { kind: 'no_downloader' }, failed: false, attempts: 1, replyMessageId: 11, messageId: 10 });
    expect(noMatch.payload.nextAttemptAt).not.toBeNull();
    expect(results.find((r) => r.payload.linkId === vkLink.id)!.payload).toMatchObject({ ok: true, downloader: 'vk', attempts: 1, chatId: String(vkLink.chatId) });

    // A wildcard downloader appears: the retry reaches it.
    const any = await downloader('anything', ['any']);
    await waitFor(gone(lost.id), { what: 'the retried link' });
    expect(any.links()).toEqual(['https://notyoutube.com/x']);
    expect(yt.links()).toEqual(['https://m.youtube.com/watch?v=1']);
    expect(vk.links()).toEqual(['https://vk.com/video1']);
    const history = await db.dispatch.findFirstOrThrow({ where: { linkId: lost.id } });
    expect(history.downloader).toBe('anything');
    expect(history.attempts).toBeGreaterThanOrEqual(2);
  });

  /** Every link's dispatch row: which downloader took it, in how many attempts. */
  async function takenBy(links: ReadonlyArray<{ id: number }>) {
    const rows = await db.dispatch.findMany({ where: { linkId: { in: links.map((l) => l.id) } } });
    return new Map(rows.map((row) => [row.linkId!, { downloader: row.downloader, attempts: row.attempts }]));
  }

  it('sends every link to the downloader that names its host (or a parent domain), and only the rest to the catch-all', async () => {
    const box = await downloader('anything-box', ['*']);
    const nas = await downloader('video-nas', ['youtube.com', 'youtu.be', 'vimeo.com', 'rutube.ru', 'vk.com']);
    const specific = await Promise.all(
      [
        'https://www.youtube.com/watch?v=1', 'https://youtube.com/watch?v=2', 'https://m.youtube.com/watch?v=3', 'https://music.youtube.com/watch?v=4',
        'https://youtu.be/5', 'https://youtu.be/6', 'https://vimeo.com/7', 'https://player.vimeo.com/video/8', 'https://rutube.ru/video/9',
        'https://vk.com/video10', 'https://m.vk.com/video11', 'https://www.youtube.com/watch?v=12',
      ].map((url) => addLink(url)),
    );
    const other = await Promise.all(
      ['https://example.org/1', 'https://notyoutube.com/2', 'https://youtube.com.evil.org/3', 'https://vimeo.co/4', 'https://ok.ru/5', 'http://10.0.0.1/6', 'https://example.org/7', 'https://vk.co/8'].map(
        (url) => addLink(url),
      ),
    );
    await startApp();
    await waitFor(async () => (await db.link.count()) === 0, { what: 'every link dispatched' });

    expect(nas.links().sort()).toEqual(specific.map((l) => l.url).sort());
    expect(box.links().sort()).toEqual(other.map((l) => l.url).sort());
    const taken = await takenBy([...specific, ...other]);
    for (const link of specific) expect([link.url, taken.get(link.id)]).toEqual([link.url, { downloader: 'video-nas', attempts: 1 }]);
    for (const link of other) expect([link.url, taken.get(link.id)]).toEqual([link.url, { downloader: 'anything-box', attempts: 1 }]);
  });

  it('fails over in order when the specific downloader is down: to the next parent-domain match, then to the catch-all, within the attempt', async () => {
    const box = await downloader('anything-box', ['*']);
    const nas = await downloader('video-nas', ['youtube.com', 'vimeo.com']);
    // Registered healthy but not listening: down since the last health check.
    const music = await downloader('music-box', ['music.youtube.com']);
    await music.stop();
    const musicLinks = await Promise.all(Array.from({ length: 8 }, (_, i) => addLink(`https://music.youtube.com/watch?v=${i}`)));
    const elsewhere = await addLink('https://example.org/a');
    const { app } = await startApp();
    await waitFor(async () => (await db.link.count()) === 0, { what: 'every link dispatched' });
    expect(music.calls).toHaveLength(0);
    expect(nas.links().sort()).toEqual(musicLinks.map((l) => l.url).sort());
    expect(box.links()).toEqual([elsewhere.url]);
    const taken = await takenBy([...musicLinks, elsewhere]);
    expect([...taken.values()].every((row) => row.attempts === 1)).toBe(true);

    // video-nas goes down too: its links, and music.youtube.com's, reach the catch-all in the same attempt.
    await nas.stop();
    const fallen = await Promise.all(
      ['https://www.youtube.com/watch?v=x', 'https://vimeo.com/y', 'https://music.youtube.com/watch?v=z'].map((url) => addLink(url)),
    );
    app.scheduler.wake();
    await waitFor(async () => (await db.link.count()) === 0, { what: 'the links of the downloaders that are down dispatched' });
    expect(box.links().sort()).toEqual([elsewhere.url, ...fallen.map((l) => l.url)].sort());
    const takenLater = await takenBy(fallen);
    for (const link of fallen) expect([link.url, takenLater.get(link.id)]).toEqual([link.url, { downloader: 'anything-box', attempts: 1 }]);
  });

  it('gives a healthy catch-all the links of a specific downloader marked unhealthy, which still takes what the catch-all fails', async () => {
    const box = await downloader('anything-box', ['*'], (request) => (request.link.endsWith('/refused') ? refuse(Status.UNAVAILABLE, 'full') : undefined));
    const nas = await downloader('video-nas', ['youtube.com'], undefined, false);
    const links = await Promise.all(Array.from({ length: 6 }, (_, i) => addLink(`https://www.youtube.com/watch?v=${i}`)));
    await startApp();
    await waitFor(async () => (await db.link.count()) === 0, { what: 'every link dispatched' });
    expect(nas.calls).toHaveLength(0);
    expect(box.links().sort()).toEqual(links.map((l) => l.url).sort());

    const refused = await addLink('https://www.youtube.com/refused');
    await waitFor(gone(refused.id), { what: 'the refused link dispatched' });
    expect(nas.links()).toEqual([refused.url]);
    expect((await takenBy([refused])).get(refused.id)).toEqual({ downloader: 'video-nas', attempts: 1 });
  });

  it('picks the first downloader at random among equally specific ones, fails over within the attempt, tries unhealthy ones last', async () => {
    const a = await downloader('a', ['*']);
    const b = await downloader('b', ['all']);
    const broken = await downloader('broken', ['example.com'], () => refuse(Status.UNAVAILABLE, 'disk full'));
    const sick = await downloader('sick', ['*'], undefined, false);
    const links = await Promise.all(Array.from({ length: 90 }, (_, i) => addLink(`https://www.example.com/v/${i}`)));
    await startApp();
    await waitFor(async () => (await db.link.count()) === 0, { what: 'every link dispatched' });

    // 'broken' names the parent domain, so it went first until its failure demoted it (RecentFailures); the wildcards
    // 'a' and 'b' each went first for some links and took every link 'broken' could not.
    expect(a.calls.length).toBeGreaterThan(0);
    expect(b.calls.length).toBeGreaterThan(0);
    expect(broken.calls.length).toBeGreaterThan(0);
    expect(sick.calls).toHaveLength(0);
    expect(a.calls.length + b.calls.length).toBe(90);
    expect(new Set([...a.links(), ...b.links()]).size).toBe(90);
    const history = await db.dispatch.findMany();
    expect(history).toHaveLength(90);
    expect(history.every((row) => row.attempts === 1 && (row.downloader === 'a' || row.downloader === 'b'))).toBe(true);
    const results = await resultsWhen((all) => all.length >= 90);
    expect(results.filter((r) => r.payload.ok)).toHaveLength(90);
    expect(results.filter((r) => !r.payload.ok)).toHaveLength(0);
    expect(new Set(results.map((r) => r.payload.linkId))).toEqual(new Set(links.map((l) => l.id)));
  });

  it('tries a downloader that just let a call time out last, though its health checks pass', async () => {
    const release: Array<() => void> = [];
    const hangs = await downloader('hangs', ['*'], () => new Promise<void>((resolve) => release.push(resolve)));
    const fine = await downloader('fine', ['*']);
    const links = await Promise.all(Array.from({ length: 20 }, (_, i) => addLink(`https://example.com/h/${i}`)));
    // A link whose call timed out is not given to 'fine' in the same try ('hangs' may have it after
    // all): it is looked up in the Queue of 'hangs' on its next try, a short backoff later.
    await startApp({ DISPATCH_CONCURRENCY: '1', DOWNLOADER_DEADLINE_S: '0.3', RETRY_BASE_S: '0.2', RETRY_CAP_S: '0.2' });
    await waitFor(async () => (await db.link.count()) === 0, { what: 'every link dispatched', timeout: 15_000 });
    release.forEach((r) => r());
    // One call may find it hanging (if it went first); after that it is tried after 'fine', which takes every link.
    expect(hangs.calls.length).toBeLessThanOrEqual(1);
    expect(new Set(fine.links())).toEqual(new Set(links.map((l) => l.url)));
  });

  // 'hangs' (healthy) goes first and times out after 1 s; 'next' (registered unhealthy) would
  // come after it. Only the first call of a claim (not the Queue read after a timeout) goes
  // without a renewal.
  async function hangingThenNext() {
    const release: Array<() => void> = [];
    const hangs = await downloader('hangs', ['*'], () => new Promise<void>((resolve) => release.push(resolve)));
    const next = await downloader('next', ['*'], undefined, false);
    return { hangs, next, releaseAll: () => release.forEach((r) => r()) };
  }

  it('renews the claim before the next downloader is called, within the same attempt', async () => {
    // 'slow' (healthy) goes first and refuses after a while; 'next' (registered unhealthy) is tried after it.
    const slow = await downloader('slow', ['*'], async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      refuse(Status.INVALID_ARGUMENT, 'not this one');
    });
    const next = await downloader('next', ['*'], undefined, false);
    const link = await addLink('https://example.com/slow-then-fine');
    await startApp({ DOWNLOADER_DEADLINE_S: '1' });
    await waitFor(gone(link.id), { what: 'the link dispatched', timeout: 10_000 });
    expect(slow.calls).toHaveLength(1);
    expect(next.links()).toEqual([link.url]);
    expect(await db.dispatch.findFirstOrThrow({ where: { linkId: link.id } })).toMatchObject({ downloader: 'next', attempts: 1 });
  });

  it('makes no further call for a link whose claim another replica took over meanwhile, though its own lease has time left', async () => {
    const { hangs, next, releaseAll } = await hangingThenNext();
    const link = await addLink('https://example.com/taken-over');
    const { httpPort } = await startApp({ DOWNLOADER_DEADLINE_S: '1' });
    await waitFor(() => hangs.inFlight === 1, { what: 'the first call hanging' });
    // As if this replica had stalled past its lease and another one had claimed the link.
    await db.link.update({ where: { id: link.id }, data: { claimOwner: 'other#1', claimExpiresAt: new Date(Date.now() + 60_000) } });
    await waitFor(async () => /dwld_scheduler_claims_lost_total\{service="scheduler"\} 1/.test(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()), { what: 'the lost claim noticed' });
    releaseAll();
    expect(next.calls).toHaveLength(0);
    expect(await db.link.findUniqueOrThrow({ where: { id: link.id } })).toMatchObject({ claimOwner: 'other#1', attempts: 0, status: 'queued' });
    expect(await db.dispatch.count()).toBe(0);
  });

  it('does not hand a link removed during a failed call to the next downloader', async () => {
    const { hangs, next, releaseAll } = await hangingThenNext();
    const link = await addLink('https://example.com/removed-meanwhile');
    const { httpPort } = await startApp({ DOWNLOADER_DEADLINE_S: '1' });
    await waitFor(() => hangs.inFlight === 1, { what: 'the first call hanging' });
    await db.link.delete({ where: { id: link.id } });
    await waitFor(async () => /dwld_scheduler_claims_lost_total\{service="scheduler"\} 1/.test(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()), { what: 'the missing claim noticed' });
    releaseAll();
    expect(next.calls).toHaveLength(0);
    expect(await db.dispatch.count()).toBe(0);
  });

  it('records the error and pushes the send time back exponentially, with jitter, up to the cap', async () => {
    let up = false;
    const nas = await downloader('nas', ['*'], () => {
      if (!up) refuse(Status.UNAVAILABLE, 'going to sleep');
    });
    const { app } = await startApp({ RETRY_BASE_S: '20', RETRY_CAP_S: '30' });
    const link = await addLink('https://example.com/a');
    app.scheduler.wake();

    const attemptRow = (n: number) =>
      waitFor(async () => {
        const row = await db.link.findUniqueOrThrow({ where: { id: link.id } });
        return row.attempts === n && row.claimOwner === null ? row : undefined;
      }, { what: `attempt ${n} recorded` });
    const first = await attemptRow(1);
    expect(first.lastError).toContain('nas: SetToQueue to downloader "nas"');
    expect(first.lastError).toContain('UNAVAILABLE: going to sleep');
    expect(first).toMatchObject({ lastErrorKind: 'unavailable', lastErrorReason: null });
    // Equal jitter: the first delay lies in [base/2, base] from the moment of the failure (±1 s of clock reading).
    const firstDelay = first.sendAt.getTime() - first.updatedAt.getTime();
    expect(firstDelay).toBeGreaterThanOrEqual(10_000 - 1000);
    expect(firstDelay).toBeLessThanOrEqual(20_000 + 1000);

    // Time passes (the send time is moved, not waited for): the second delay's bound doubles, then meets the cap.
    await db.link.update({ where: { id: link.id }, data: { sendAt: new Date(Date.now() - 1) } });
    const second = await attemptRow(2);
    const secondDelay = second.sendAt.getTime() - second.updatedAt.getTime();
    expect(secondDelay).toBeGreaterThanOrEqual(15_000 - 1000);
    expect(secondDelay).toBeLessThanOrEqual(30_000 + 1000);

    const failures = (await resultsWhen((all) => all.length >= 2)).map((r) => r.payload);
    expect(failures).toEqual([
      expect.objectContaining({ ok: false, attempts: 1, failed: false, error: { kind: 'unavailable', message: first.lastError }, nextAttemptAt: first.sendAt.toISOString() }),
      expect.objectContaining({ ok: false, attempts: 2, failed: false, error: { kind: 'unavailable', message: second.lastError }, nextAttemptAt: second.sendAt.toISOString() }),
    ]);

    up = true;
    await db.link.update({ where: { id: link.id }, data: { sendAt: new Date(Date.now() - 1) } });
    await waitFor(gone(link.id), { what: 'the link dispatched on its third try' });
    expect(nas.calls).toHaveLength(3);
    expect((await db.dispatch.findFirstOrThrow({ where: { linkId: link.id } })).attempts).toBe(3);
    const ok = (await resultsWhen((all) => all.length >= 3)).at(-1)!;
    expect(ok.eventId).toBe(`dispatch.result:${link.id}:3`);
    expect(ok.payload).toMatchObject({ ok: true, downloader: 'nas', attempts: 3 });
  });

  it('marks a link failed after MAX_REFUSALS refusals (INVALID_ARGUMENT, FAILED_PRECONDITION) and stops trying it', async () => {
    const picky = await downloader('picky', ['*'], (request) =>
      request.link.endsWith('/bad') ? refuse(Status.INVALID_ARGUMENT, 'unsupported site') : refuse(Status.FAILED_PRECONDITION, 'login required'),
    );
    const { app } = await startApp({ MAX_REFUSALS: '2', RETRY_BASE_S: '0.05', RETRY_CAP_S: '0.1' });
    const bad = await addLink('https://example.com/bad');
    const locked = await addLink('https://example.com/locked');
    app.scheduler.wake();

    for (const link of [bad, locked]) {
      const row = await waitFor(async () => {
        const r = await db.link.findUniqueOrThrow({ where: { id: link.id } });
        return r.status === 'failed' ? r : undefined;
      }, { what: 'the link marked failed' });
      expect(row.attempts).toBe(2);
      expect(row.claimOwner).toBeNull();
    }
    expect((await db.link.findUniqueOrThrow({ where: { id: bad.id } })).lastError).toContain('INVALID_ARGUMENT: unsupported site');
    expect((await db.link.findUniqueOrThrow({ where: { id: locked.id } })).lastError).toContain('FAILED_PRECONDITION: login required');
    // What the person's card says: the kind, and the downloader's own words without our address and status.
    expect(await db.link.findUniqueOrThrow({ where: { id: bad.id } })).toMatchObject({ lastErrorKind: 'refused', lastErrorReason: 'unsupported site' });
    expect(await db.link.findUniqueOrThrow({ where: { id: locked.id } })).toMatchObject({ lastErrorKind: 'refused', lastErrorReason: 'login required' });
    const results = (await resultsWhen((all) => all.filter((r) => r.payload.linkId === bad.id).length >= 2)).filter((r) => r.payload.linkId === bad.id).map((r) => r.payload);
    expect(results).toEqual([
      expect.objectContaining({ attempts: 1, failed: false, error: expect.objectContaining({ kind: 'refused' }) }),
      expect.objectContaining({ attempts: 2, failed: true, nextAttemptAt: null, error: expect.objectContaining({ kind: 'refused' }) }),
    ]);

    await pollsPass(app, 5);
    expect(picky.calls).toHaveLength(4);
  });

  it('dispatches nothing while paused, and resumes when the flag is cleared', async () => {
    await db.setting.create({ data: { key: 'dispatch.paused', value: true } });
    const nas = await downloader('nas', ['*']);
    const link = await addLink('https://example.com/paused');
    const { app, httpPort } = await startApp();
    await pollsPass(app, 3);
    expect(nas.calls).toHaveLength(0);
    expect(await db.link.findUniqueOrThrow({ where: { id: link.id } })).toMatchObject({ claimOwner: null, attempts: 0 });
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toMatch(/dwld_scheduler_paused\{service="scheduler"\} 1/);
    expect(metrics).toMatch(/dwld_scheduler_links_due\{service="scheduler"\} 1/);

    await db.setting.update({ where: { key: 'dispatch.paused' }, data: { value: false } });
    await waitFor(gone(link.id), { what: 'the link dispatched after resume' });
    expect(nas.links()).toEqual(['https://example.com/paused']);
  });

  it('reaches a re-registered downloader at its new address', async () => {
    const old = await downloader('nas', ['*']);
    const { app } = await startApp();
    const first = await addLink('https://example.com/1');
    app.scheduler.wake();
    await waitFor(gone(first.id));
    expect(old.links()).toEqual(['https://example.com/1']);

    // The same name registers again from another address; the old one goes away.
    const moved = await FakeDownloader.start('nas');
    downloaders.push(moved);
    await register(db, moved, ['*']);
    await old.stop();
    const second = await addLink('https://example.com/2');
    app.scheduler.wake();
    await waitFor(gone(second.id));
    expect(moved.links()).toEqual(['https://example.com/2']);
    expect(old.links()).toEqual(['https://example.com/1']);
  });

  it('wakes up on link.added instead of waiting for the next poll', async () => {
    const nas = await downloader('nas', ['*']);
    const { app } = await startApp({ SCHEDULER_INTERVAL_S: '3600' });
    await pollsPass(app, 1);
    const link = await addLink('https://example.com/new');
    const event: EventInput<typeof linkAdded> = {
      linkId: link.id, url: link.url, host: link.host, userId: String(link.userId), chatId: String(link.chatId), username: 'ann', quality: '720', folder: null,
      sendAt: link.sendAt.toISOString(),
    };
    await publisher().publish(linkAdded, event, { id: `link.added:${link.id}` });
    await waitFor(gone(link.id), { what: 'the link dispatched after the wake-up' });
    expect(nas.links()).toEqual([link.url]);
  });

  it('looks again when the next queued link falls due, with no event and a long interval', async () => {
    const nas = await downloader('nas', ['*']);
    const { app } = await startApp({ SCHEDULER_INTERVAL_S: '3600' });
    const first = await addLink('https://example.com/first');
    // Written straight to the table (its link.added went to no one): only the table says when it is due.
    const later = await addLink('https://example.com/later', { sendAt: new Date(Date.now() + 800) });
    await publisher().publish(linkAdded, {
      linkId: first.id, url: first.url, host: first.host, userId: String(first.userId), chatId: String(first.chatId), username: 'ann', quality: '720', folder: null,
      sendAt: first.sendAt.toISOString(),
    });
    await waitFor(gone(first.id), { what: 'the first link dispatched' });
    const pollsAfterFirst = app.scheduler.polls;
    await waitFor(gone(later.id), { what: 'the later link dispatched at its send time, long before the next interval' });
    expect(nas.links()).toEqual([first.url, later.url]);
    expect(app.scheduler.polls - pollsAfterFirst).toBeLessThanOrEqual(3);
  });

  it('claims no more links than it has dispatch slots, and takes over an expired claim but not a live one', async () => {
    const gate = deferred();
    const nas = await downloader('nas', ['*'], () => gate.promise);
    const links = await Promise.all(Array.from({ length: 8 }, (_, i) => addLink(`https://example.com/slot/${i}`)));
    const orphan = await addLink('https://example.com/orphan');
    await db.link.update({ where: { id: orphan.id }, data: { claimOwner: 'crashed#1', claimExpiresAt: new Date(Date.now() - 1) } });
    const held = await addLink('https://example.com/held');
    await db.link.update({ where: { id: held.id }, data: { claimOwner: 'alive#1', claimExpiresAt: new Date(Date.now() + 60_000) } });
    const { app } = await startApp({ DISPATCH_CONCURRENCY: '3' });

    await waitFor(() => nas.inFlight === 3, { what: 'three calls in flight' });
    await pollsPass(app, 3);
    expect(nas.inFlight).toBe(3);
    expect(await db.link.count({ where: { claimOwner: app.owner } })).toBe(3);

    gate.resolve();
    await waitFor(async () => (await db.link.count()) === 1, { what: 'all but the live claim dispatched' });
    expect(new Set(nas.links())).toEqual(new Set([...links.map((l) => l.url), orphan.url]));
    expect(nas.calls).toHaveLength(9);
    expect(await db.link.findUniqueOrThrow({ where: { id: held.id } })).toMatchObject({ claimOwner: 'alive#1', attempts: 0 });
  });

  it('on stop finishes the calls in flight and releases a claim whose next call has not started', async () => {
    const finish = deferred();
    const failLater = deferred();
    const slow = await downloader('slow', ['done.example'], () => finish.promise);
    const flaky = await downloader('flaky', ['next.example'], async () => {
      await failLater.promise;
      refuse(Status.UNAVAILABLE, 'gone');
    });
    const spare = await downloader('spare', ['next.example'], undefined, false); // unhealthy: tried after flaky
    const done = await addLink('https://done.example/1');
    const interrupted = await addLink('https://next.example/1');
    const { app } = await startApp();
    await waitFor(() => slow.inFlight === 1 && flaky.inFlight === 1, { what: 'both calls in flight' });

    const stopped = app.stop();
    finish.resolve();
    failLater.resolve();
    await stopped;

    expect(await db.link.count({ where: { id: done.id } })).toBe(0);
    expect(await db.dispatch.count({ where: { linkId: done.id, downloader: 'slow' } })).toBe(1);
    expect(spare.calls).toHaveLength(0);
    expect(await db.link.findUniqueOrThrow({ where: { id: interrupted.id } })).toMatchObject({ claimOwner: null, claimExpiresAt: null, attempts: 0, lastError: null });
    expect(await db.link.count({ where: { claimOwner: { not: null } } })).toBe(0);
  });

  describe('deployed Go downloaders (UNKNOWN for every error, a queue unique by link)', () => {
    async function goDownloader(name: string, patterns: string[] = ['all']): Promise<RunningGoDownloader> {
      const go = await startGoDownloader({ host: '127.0.0.1' });
      cleanups.push(() => go.stop());
      await register(db, { name, port: go.port }, patterns);
      return go;
    }
    const row = (id: number) => db.link.findUnique({ where: { id } });

    it('records a link whose SetToQueue answer was lost (deadline) as dispatched once, after finding it in the downloader\'s Queue', async () => {
      // It names the host, so it goes before the catch-all.
      const go = await goDownloader('go-nas', ['youtube.com']);
      const spare = await downloader('spare', ['*']);
      go.loseReplies(1);
      const { app } = await startApp({ DOWNLOADER_DEADLINE_S: '0.3', CLAIM_LEASE_S: '5' });
      const link = await addLink('https://youtube.com/watch?v=lost', { quality: 'max' });
      app.scheduler.wake();

      await waitFor(gone(link.id), { what: 'the link recorded as handed over' });
      const history = await db.dispatch.findMany({ where: { url: link.url } });
      expect(history.map((h) => [h.downloader, h.attempts])).toEqual([['go-nas', 1]]);
      const results = await resultsWhen((all) => all.some((r) => r.payload.linkId === link.id));
      expect(results.filter((r) => r.payload.linkId === link.id).map((r) => r.payload)).toEqual([expect.objectContaining({ ok: true, downloader: 'go-nas', attempts: 1 })]);
      // The downloader holds it once, was asked once, and nobody else got a copy.
      expect(go.setToQueueCount(link.url)).toBe(1);
      expect(go.rows().filter((r) => r.link === link.url)).toHaveLength(1);
      expect(go.row(link.url)).toMatchObject({ targetQuality: 10000, userName: 'ann' });
      expect(go.calls('Queue').length).toBeGreaterThanOrEqual(1);
      expect(spare.calls).toHaveLength(0);
      await pollsPass(app, 3);
      expect(go.setToQueueCount(link.url)).toBe(1);
      expect(await db.dispatch.count({ where: { url: link.url } })).toBe(1);
    });

    it('takes the deployed downloader\'s UNKNOWN "UNIQUE constraint failed" for a link it already holds as the hand-over done', async () => {
      const go = await goDownloader('go-nas');
      const { app } = await startApp();
      // Sent by the Go bot before the cut-over (or by another person): the downloader holds it.
      const held = await addLink('https://rutube.ru/video/1');
      const goBot = new DownloaderClient({ lookup: async () => ({ host: '127.0.0.1', port: go.port }), deadlineMs: 2000 });
      await goBot.setToQueue('go-nas', { link: held.url, userName: '[ann] Музыка', maxQuality: 4320 });
      goBot.close();
      app.scheduler.wake();
      await waitFor(gone(held.id), { what: 'the held link recorded as handed over' });
      const calls = go.calls('SetToQueue').filter((c) => c.link === held.url);
      expect(calls.map((c) => [c.outcome, c.error])).toEqual([['queued', undefined], ['duplicate', GO_UNIQUE_ERROR]]);
      expect(go.rows().filter((r) => r.link === held.url)).toHaveLength(1);
      expect(await db.dispatch.findMany({ where: { url: held.url } })).toEqual([expect.objectContaining({ downloader: 'go-nas', attempts: 1 })]);
    });

    it('ends a try whose answer is lost and whose Queue cannot be read either, gives nobody else the link, and reads that Queue first on the next try', async () => {
      const go = await goDownloader('go-nas', ['youtube.com']);
      const spare = await downloader('spare', ['*']);
      go.loseReplies(1);
      go.failNext(1, 'Queue: database is locked', 'Queue');
      const { app } = await startApp({ DOWNLOADER_DEADLINE_S: '0.3', CLAIM_LEASE_S: '5', RETRY_BASE_S: '0.2', RETRY_CAP_S: '0.2' });
      const link = await addLink('https://youtube.com/watch?v=unsure');
      app.scheduler.wake();

      const failed = await waitFor(async () => {
        const r = await row(link.id);
        return r && r.attempts === 1 && r.claimOwner === null ? r : undefined;
      }, { what: 'the first try recorded' });
      expect(failed).toMatchObject({ unconfirmedDownloader: 'go-nas', lastErrorKind: 'unavailable', status: 'queued' });
      expect(failed.firstFailedAt).not.toBeNull();
      expect(spare.calls).toHaveLength(0);

      await waitFor(gone(link.id), { what: 'the next try to find it in the Queue' });
      expect(go.setToQueueCount(link.url)).toBe(1);
      expect(spare.calls).toHaveLength(0);
      expect(await db.dispatch.findMany({ where: { url: link.url } })).toEqual([expect.objectContaining({ downloader: 'go-nas', attempts: 2 })]);
    });

    it('keeps the mark while that Queue stays unreadable: the next try ends too, and nobody else gets the link', async () => {
      const go = await goDownloader('go-nas', ['youtube.com']);
      const spare = await downloader('spare', ['*']);
      go.loseReplies(1);
      go.failNext(2, 'Queue: database is locked', 'Queue');
      const { app } = await startApp({ DOWNLOADER_DEADLINE_S: '0.3', CLAIM_LEASE_S: '5', RETRY_BASE_S: '0.2', RETRY_CAP_S: '0.2' });
      const link = await addLink('https://youtube.com/watch?v=twice-unsure');
      app.scheduler.wake();

      const second = await waitFor(async () => {
        const r = await row(link.id);
        return r && r.attempts === 2 && r.claimOwner === null ? r : undefined;
      }, { what: 'the second try recorded' });
      expect(second).toMatchObject({ unconfirmedDownloader: 'go-nas', lastErrorKind: 'unavailable' });
      expect(second.lastError).toContain('may hold the link');
      await waitFor(gone(link.id), { what: 'the third try to find it' });
      expect(go.setToQueueCount(link.url)).toBe(1);
      expect(spare.calls).toHaveLength(0);
      expect(await db.dispatch.findMany({ where: { url: link.url } })).toEqual([expect.objectContaining({ downloader: 'go-nas', attempts: 3 })]);
    });

    it('after a deadline with the link not in the Queue yet, ends the try (the insert may still land) and routes as usual on the next', async () => {
      let calls = 0;
      const slow = await downloader('slow', ['youtube.com'], async () => {
        calls++;
        // The first answer never comes in time, and nothing is queued: the Queue stays empty.
        if (calls === 1) await new Promise((resolve) => setTimeout(resolve, 1_000));
      });
      const spare = await downloader('spare', ['*']);
      const { app } = await startApp({ DOWNLOADER_DEADLINE_S: '0.3', CLAIM_LEASE_S: '5', RETRY_BASE_S: '0.2', RETRY_CAP_S: '0.2' });
      const link = await addLink('https://youtube.com/watch?v=late-insert');
      app.scheduler.wake();
      const first = await waitFor(async () => {
        const r = await row(link.id);
        return r && r.attempts === 1 && r.claimOwner === null ? r : undefined;
      }, { what: 'the first try recorded' });
      expect(first.unconfirmedDownloader).toBe('slow');
      expect(spare.calls).toHaveLength(0);
      // Not in its Queue on the next try either: routed as usual, and the one that just timed out goes last.
      await waitFor(gone(link.id), { what: 'the next try' });
      expect(slow.links()).toEqual([link.url]);
      expect(spare.links()).toEqual([link.url]);
      expect(await db.dispatch.findMany({ where: { url: link.url } })).toEqual([expect.objectContaining({ downloader: 'spare', attempts: 2 })]);
    });

    it('tells a link the downloader downloaded before (DONE in its history) from one it holds: refused in its words, and the next downloader takes it', async () => {
      const go = await goDownloader('go-nas', ['youtube.com']);
      const spare = await downloader('spare', ['*']);
      const goBot = new DownloaderClient({ lookup: async () => ({ host: '127.0.0.1', port: go.port }), deadlineMs: 2000 });
      await goBot.setToQueue('go-nas', { link: 'https://youtube.com/watch?v=again', userName: 'ann', maxQuality: 1080 });
      goBot.close();
      go.advanceTo('https://youtube.com/watch?v=again', 'DONE');
      const { app } = await startApp();
      const link = await addLink('https://youtube.com/watch?v=again');
      app.scheduler.wake();
      await waitFor(gone(link.id), { what: 'the link handed over' });
      expect(await db.dispatch.findMany({ where: { url: link.url } })).toEqual([expect.objectContaining({ downloader: 'spare', attempts: 1 })]);
      expect(spare.links()).toEqual([link.url]);
      expect(go.calls('SetToQueue').map((c) => c.outcome)).toEqual(['queued', 'duplicate']);
    });

    it('routes to a downloader in the table that has not answered a health check since the registry started (health is a preference, not a gate)', async () => {
      const go = await startGoDownloader({ host: '127.0.0.1' });
      cleanups.push(() => go.stop());
      await register(db, { name: 'go-nas', port: go.port }, ['all'], false);
      const { app } = await startApp();
      const link = await addLink('https://vk.com/video-5_6');
      app.scheduler.wake();
      await waitFor(gone(link.id), { what: 'the link handed to the downloader marked unhealthy' });
      expect(go.setToQueueCount(link.url)).toBe(1);
    });

    it('gives a link up after MAX_ATTEMPTS UNKNOWN answers, keeping the downloader\'s own words for the card; queued afresh it is tried again', async () => {
      const go = await goDownloader('go-nas');
      go.alwaysFail('SetToQueue: insert new link: disk I/O error');
      const { app } = await startApp({ MAX_ATTEMPTS: '3', RETRY_BASE_S: '0.05', RETRY_CAP_S: '0.1' });
      const link = await addLink('https://vk.com/video-1_2');
      app.scheduler.wake();

      const given = await waitFor(async () => {
        const r = await row(link.id);
        return r?.status === 'failed' ? r : undefined;
      }, { what: 'the link given up' });
      expect(given).toMatchObject({ attempts: 3, lastErrorKind: 'internal', lastErrorReason: 'SetToQueue: insert new link: disk I/O error' });
      expect(given.lastError).toContain('UNKNOWN');
      const results = (await resultsWhen((all) => all.filter((r) => r.payload.linkId === link.id).length >= 3)).filter((r) => r.payload.linkId === link.id).map((r) => r.payload);
      expect(results.map((r) => [r.attempts, r.failed])).toEqual([[1, false], [2, false], [3, true]]);
      // Each UNKNOWN was checked against the Queue (the link might have been taken); it was not there.
      expect(go.calls('SetToQueue').filter((c) => c.link === link.url)).toHaveLength(3);
      expect(go.calls('Queue')).toHaveLength(3);
      await pollsPass(app, 5);
      expect(go.calls('SetToQueue').filter((c) => c.link === link.url)).toHaveLength(3);

      // "Try again" (the gateway's requeue: tries from zero, the clock restarted, due now) and the downloader healed.
      go.clearFaults();
      await db.link.update({ where: { id: link.id }, data: { status: 'queued', attempts: 0, firstFailedAt: null, sendAt: new Date(), lastError: null, lastErrorKind: null, lastErrorReason: null } });
      app.scheduler.wake();
      await waitFor(gone(link.id), { what: 'the link handed over on the try after "try again"' });
      expect(go.row(link.url)).toMatchObject({ status: 'NEW' });
    });

    it('gives a link up GIVE_UP_AFTER_S after its first failure, however few tries that was', async () => {
      const go = await goDownloader('go-nas');
      go.alwaysFail('SetToQueue: something broke');
      const { app } = await startApp({ MAX_ATTEMPTS: '1000', GIVE_UP_AFTER_S: '1', RETRY_BASE_S: '0.4', RETRY_CAP_S: '0.4' });
      const link = await addLink('https://vk.com/video-3_4');
      app.scheduler.wake();
      const given = await waitFor(async () => {
        const r = await row(link.id);
        return r?.status === 'failed' ? r : undefined;
      }, { what: 'the link given up by time' });
      expect(given.attempts).toBeGreaterThanOrEqual(2);
      expect(given.attempts).toBeLessThanOrEqual(6);
      expect(given.updatedAt.getTime() - given.firstFailedAt!.getTime()).toBeGreaterThanOrEqual(1000);
    });
  });

  describe('link.urgent', () => {
    const urgent = (url: string): EventInput<typeof linkUrgent> => ({
      url, host: new URL(url).hostname, userId: '501', chatId: '502', username: 'bob', quality: '1080', folder: 'Music',
      messageId: 7, replyMessageId: null, acceptedAt: new Date().toISOString(),
    });

    /** The same event twice (a publisher that retried, or a redelivery), and both handled. */
    async function publishTwice(payload: EventInput<typeof linkUrgent>, id: string) {
      await publisher().publish(linkUrgent, payload, { id });
      await publisher().publish(linkUrgent, payload, { id });
      await waitFor(() => groupCaughtUp(redisNs.redis, redisNs.prefix, linkUrgent, CONSUMER_GROUP), { what: 'both deliveries handled' });
    }

    it('is dispatched from the event once, even when delivered twice to two replicas', async () => {
      const nas = await downloader('nas', ['*']);
      await Promise.all([startApp({ URGENT_RETRY_S: '0.3' }), startApp({ URGENT_RETRY_S: '0.3', CONSUMER_NAME: 'second' })]);
      await publishTwice(urgent('https://example.com/urgent'), 'urgent-1');

      expect(nas.calls).toEqual([{ link: 'https://example.com/urgent', userName: '[bob] Music', maxQuality: 1080 }]);
      const history = await db.dispatch.findMany();
      expect(history).toEqual([expect.objectContaining({ linkId: null, url: 'https://example.com/urgent', downloader: 'nas', userId: 501n, attempts: 1 })]);
      const results = await readResults(redisNs.redis, redisNs.prefix);
      expect(results).toEqual([{ eventId: urgentResultEventId('urgent-1'), payload: expect.objectContaining({ ok: true, linkId: null, urgentEventId: 'urgent-1', downloader: 'nas', messageId: 7 }) }]);
      expect(await db.link.count()).toBe(0);
    });

    it('is written down once as a queued link when no downloader takes it, and the polls dispatch it later', async () => {
      // Its retry is 30-60 s away (RETRY_BASE_S 60), so no poll tries it again before it is read;
      // it is then made due by hand. (A retry 50-100 ms away raced the read on a busy machine.)
      await startApp();
      await publishTwice(urgent('https://nowhere.example/u'), 'urgent-2');
      const rows = await db.link.findMany();
      expect(rows).toEqual([expect.objectContaining({ urgentEventId: 'urgent-2', url: 'https://nowhere.example/u', attempts: 1, messageId: 7, status: 'queued', lastError: 'no downloader takes links from nowhere.example' })]);
      const [failure] = await readResults(redisNs.redis, redisNs.prefix);
      expect(failure!.payload).toMatchObject({ ok: false, linkId: rows[0]!.id, urgentEventId: 'urgent-2', attempts: 1, error: { kind: 'no_downloader' } });

      const nas = await downloader('nas', ['nowhere.example']);
      await db.link.update({ where: { id: rows[0]!.id }, data: { sendAt: new Date() } });
      await waitFor(gone(rows[0]!.id), { what: 'the written-down link dispatched' });
      expect(nas.links()).toEqual(['https://nowhere.example/u']);
      const ok = (await resultsWhen((all) => all.some((r) => r.payload.ok))).find((r) => r.payload.ok)!;
      expect(ok.payload).toMatchObject({ linkId: rows[0]!.id, urgentEventId: 'urgent-2', downloader: 'nas' });
    });

    it('is left to the queued row of the same person and link (the gateway\'s insert landed after all): sent once', async () => {
      const nas = await downloader('nas', ['*']);
      const url = 'https://example.com/landed';
      // The row the gateway's insert committed before its connection dropped; due later.
      const row = await db.link.create({
        data: { url, host: 'example.com', chatId: 502n, userId: 501n, username: 'bob', quality: '720', folder: null, messageId: 7, sendAt: new Date(Date.now() + 3_600_000) },
      });
      const { app } = await startApp();
      await publishTwice(urgent(url), 'urgent-5');
      expect(nas.calls).toHaveLength(0);
      expect(await redisNs.redis.hget(`${redisNs.prefix}:scheduler:urgent:urgent-5`, 'stage')).toBe('done');
      expect(await readResults(redisNs.redis, redisNs.prefix)).toEqual([]);

      await db.link.update({ where: { id: row.id }, data: { sendAt: new Date(Date.now() - 1000) } });
      app.scheduler.wake();
      await waitFor(gone(row.id), { what: 'the queued row dispatched' });
      expect(nas.calls).toEqual([expect.objectContaining({ link: url, maxQuality: 720 })]);
      expect(await db.dispatch.findMany()).toEqual([expect.objectContaining({ linkId: row.id, url })]);
    });

    it('is queued instead while dispatching is paused, and sent on resume', async () => {
      await db.setting.create({ data: { key: 'dispatch.paused', value: true } });
      const nas = await downloader('nas', ['*']);
      await startApp();
      await publishTwice(urgent('https://example.com/paused-urgent'), 'urgent-4');
      const rows = await db.link.findMany();
      expect(rows).toEqual([expect.objectContaining({ urgentEventId: 'urgent-4', attempts: 0, status: 'queued', claimOwner: null })]);
      expect(nas.calls).toHaveLength(0);

      await db.setting.update({ where: { key: 'dispatch.paused' }, data: { value: false } });
      await waitFor(gone(rows[0]!.id), { what: 'the urgent link dispatched after resume' });
      expect(nas.links()).toEqual(['https://example.com/paused-urgent']);
    });

    it('is counted in /metrics, by stream, when it is set aside as a dead letter', async () => {
      const { httpPort } = await startApp();
      const deadLetters = async () => {
        const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
        const line = metrics.split('\n').find((l) => l.startsWith('dwld_events_dead_letters{') && l.includes(`stream="${streamKey(redisNs.prefix, linkUrgent)}"`));
        return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
      };
      expect(await deadLetters()).toBe(0);
      // An entry no version of the scheduler can read: set aside at once.
      await redisNs.redis.xadd(streamKey(redisNs.prefix, linkUrgent), '*', 'v', '1', 'data', '{}');
      await waitFor(async () => (await deadLetters()) === 1, { what: 'the dead letter counted' });
    });

    it('is dispatched while PostgreSQL is down and written down once it is back, with its result, neither lost nor sent nor told twice', async () => {
      const target = new URL(database.url);
      const proxy = await CuttableProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
      const proxied = connectDatabase(proxy.urlFor(database.url), { connectionTimeoutMs: 1000, poolSize: 4 });
      cleanups.push(async () => {
        await proxied.db.$disconnect();
        await proxy.down();
      });
      const nas = await downloader('nas', ['*']);
      const { app } = await startApp({ URGENT_RETRY_S: '0.3' }, { database: proxied });
      await pollsPass(app, 2); // the downloader list has been read once

      await proxy.down();
      await publisher().publish(linkUrgent, urgent('https://example.com/db-down'), { id: 'urgent-3' });
      await waitFor(() => nas.calls.length === 1, { what: 'the urgent link dispatched with the database down' });
      await waitFor(async () => (await redisNs.redis.hget(`${redisNs.prefix}:scheduler:urgent:urgent-3`, 'stage')) === 'dispatched');
      // Nothing told while the database is down: the gateway could not tell the person without it either.
      expect(await readResults(redisNs.redis, redisNs.prefix)).toEqual([]);

      await proxy.up();
      await waitFor(() => groupCaughtUp(redisNs.redis, redisNs.prefix, linkUrgent, CONSUMER_GROUP), { what: 'the event written down and acknowledged' });
      expect(await db.dispatch.findMany()).toEqual([expect.objectContaining({ linkId: null, url: 'https://example.com/db-down', downloader: 'nas' })]);
      // Its result went through the outbox with the history row: on the stream once, the row deleted.
      await waitFor(async () => (await readResults(redisNs.redis, redisNs.prefix)).length === 1, { what: 'the result relayed' });
      expect(await readResults(redisNs.redis, redisNs.prefix)).toEqual([{ eventId: urgentResultEventId('urgent-3'), payload: expect.objectContaining({ ok: true, urgentEventId: 'urgent-3', downloader: 'nas' }) }]);
      await waitFor(async () => (await db.outboxEvent.count()) === 0, { what: 'the outbox row deleted' });
      expect(nas.calls).toHaveLength(1);
    });
  });
});
