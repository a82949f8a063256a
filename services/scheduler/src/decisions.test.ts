import type { QueuedLink } from '@dwld/contract';
import { DownloaderError } from '@dwld/errors';
import { tryInTurn } from './attempt';
import {
  callFitsLease,
  findInQueue,
  leaseMarginMs,
  planRequest,
  resultEventId,
  summariseAttempt,
  truncate,
  urgentResultEventId,
  type CallFailure,
} from './decisions';

const link = { url: 'https://www.youtube.com/watch?v=x', host: 'www.youtube.com', userId: '42', username: 'ann', quality: '720', folder: null };

describe('planRequest', () => {
  it('sends the link, the username and the chosen quality', () => {
    expect(planRequest(link)).toEqual({ ok: true, request: { url: link.url, destination: 'ann', maxQuality: 720 } });
  });
  it('files into "[username] Folder" with a folder, and under the user id without a username', () => {
    expect(planRequest({ ...link, folder: 'Films' })).toMatchObject({ request: { destination: '[ann] Films' } });
    expect(planRequest({ ...link, username: null })).toMatchObject({ request: { destination: '42' } });
  });
  it('sends 10000 for max (the Go bot\'s "best") and any number as it is', () => {
    expect(planRequest({ ...link, quality: 'max' })).toMatchObject({ request: { maxQuality: 10000 } });
    expect(planRequest({ ...link, quality: '4320' })).toMatchObject({ request: { maxQuality: 4320 } });
  });
  it('refuses a malformed quality', () => {
    expect(planRequest({ ...link, quality: 'hd' })).toMatchObject({ ok: false, message: expect.stringContaining('not a quality') });
  });
});

describe('findInQueue', () => {
  const entry = (url: string, stage: QueuedLink['stage'], status = stage === 'finished' ? 'DONE' : 'NEW'): QueuedLink => ({ url, stage, status });

  it('is undefined for a link not in the queue', () => {
    expect(findInQueue([], 'https://a')).toBeUndefined();
    expect(findInQueue([entry('https://b', 'held')], 'https://a')).toBeUndefined();
  });
  it('gives the entry of the link: held or finished', () => {
    expect(findInQueue([entry('https://b', 'finished'), entry('https://a', 'held', 'WORK')], 'https://a')).toEqual(entry('https://a', 'held', 'WORK'));
    expect(findInQueue([entry('https://a', 'finished')], 'https://a')).toEqual(entry('https://a', 'finished'));
  });
  it('says held when the link is there held and finished both (downloaded once, queued again)', () => {
    expect(findInQueue([entry('https://a', 'finished'), entry('https://a', 'held', 'TO_SEND')], 'https://a')).toMatchObject({ stage: 'held', status: 'TO_SEND' });
  });
});


describe('lease budget', () => {
  it('keeps a tenth of the lease, between 100 ms and 2 s, for recording', () => {
    expect(leaseMarginMs(30_000)).toBe(2_000);
    expect(leaseMarginMs(5_000)).toBe(500);
    expect(leaseMarginMs(500)).toBe(100);
  });
  it('lets a call start only if it ends, deadline and margin included, before the lease', () => {
    expect(callFitsLease(0, 10_000, 5_000, 2_000)).toBe(true);
    expect(callFitsLease(3_000, 10_000, 5_000, 2_000)).toBe(true);
    expect(callFitsLease(3_001, 10_000, 5_000, 2_000)).toBe(false);
  });
});

describe('summariseAttempt', () => {
  const f = (downloader: string, kind: CallFailure['kind']): CallFailure => ({ downloader, kind, message: `${kind} here` });
  it('says no_downloader when nothing is eligible', () => {
    expect(summariseAttempt('notyoutube.com', 0, [])).toEqual({ kind: 'no_downloader', message: 'no downloader takes links from notyoutube.com' });
  });
  it('says refused only when every eligible downloader refused', () => {
    expect(summariseAttempt('h', 2, [f('a', 'refused'), f('b', 'refused')])).toEqual({ kind: 'refused', message: 'a: refused here; b: refused here' });
    expect(summariseAttempt('h', 2, [f('a', 'refused'), f('b', 'unavailable')]).kind).toBe('unavailable');
    expect(summariseAttempt('h', 3, [f('a', 'refused'), f('b', 'refused')]).kind).toBe('unavailable');
  });
  it('treats a downloader gone meanwhile as unavailable, and only internal errors as internal', () => {
    expect(summariseAttempt('h', 1, [f('a', 'no_downloader')]).kind).toBe('unavailable');
    expect(summariseAttempt('h', 2, [f('a', 'internal'), f('b', 'refused')]).kind).toBe('internal');
  });
  it("keeps the first refusing downloader's own words for the person, bounded, and only for a refusal", () => {
    const refusing = (downloader: string, reason: string | null): CallFailure => ({ downloader, kind: 'refused', message: `${downloader}: SetToQueue … INVALID_ARGUMENT: ${reason}`, reason });
    expect(summariseAttempt('h', 2, [refusing('a', null), refusing('b', 'unsupported site')])).toMatchObject({ kind: 'refused', reason: 'unsupported site' });
    expect(summariseAttempt('h', 1, [refusing('a', 'x'.repeat(5000))]).reason).toHaveLength(300);
    expect(summariseAttempt('h', 1, [refusing('a', null)])).not.toHaveProperty('reason');
    expect(summariseAttempt('h', 2, [refusing('a', 'nope'), f('b', 'unavailable')])).not.toHaveProperty('reason');
  });
  it("keeps the first internal failure's own words (the deployed downloaders' UNKNOWN text) when only internal errors and refusals remain", () => {
    const unknown = (downloader: string, reason: string | null): CallFailure => ({ downloader, kind: 'internal', message: `${downloader}: UNKNOWN: ${reason}`, reason });
    expect(summariseAttempt('h', 2, [f('a', 'refused'), unknown('b', 'SetToQueue: disk full')])).toMatchObject({ kind: 'internal', reason: 'SetToQueue: disk full' });
    expect(summariseAttempt('h', 1, [unknown('a', null)])).not.toHaveProperty('reason');
    expect(summariseAttempt('h', 2, [unknown('a', 'x'), f('b', 'unavailable')])).not.toHaveProperty('reason');
  });
  it('mentions the downloaders left untried', () => {
    expect(summariseAttempt('h', 3, [f('a', 'unavailable')]).message).toContain('2 downloader(s) not tried');
  });
  it('bounds the stored message', () => {
    expect(truncate('x'.repeat(5000))).toHaveLength(1000);
    expect(summariseAttempt('h', 50, Array.from({ length: 50 }, (_, i) => ({ downloader: `d${i}`, kind: 'unavailable' as const, message: 'y'.repeat(100) }))).message.length).toBeLessThanOrEqual(1000);
  });
});

describe('result event ids', () => {
  it('are the same for one link and attempt, and differ otherwise', () => {
    expect(resultEventId(7, 1)).toBe(resultEventId(7, 1));
    expect(resultEventId(7, 1)).not.toBe(resultEventId(7, 2));
    expect(resultEventId(7, 1)).not.toBe(resultEventId(8, 1));
    expect(urgentResultEventId('abc')).toBe('dispatch.result:urgent:abc');
  });
});

describe('tryInTurn', () => {
  const route = ['a', 'b', 'c'].map((name) => ({ name, patterns: ['*'], healthy: true }));
  const fail = (failure: 'unavailable' | 'refused') => new DownloaderError(failure, 'x', 'handOver', `${failure}!`);

  it('stops at the first downloader that takes the link', async () => {
    const calls: string[] = [];
    const outcome = await tryInTurn('h', route, async (name) => {
      calls.push(name);
      if (name === 'a') throw fail('unavailable');
    }, () => 'go');
    expect(calls).toEqual(['a', 'b']);
    expect(outcome).toMatchObject({ ok: true, downloader: 'b', failures: [{ downloader: 'a', kind: 'unavailable' }] });
  });

  it('tries every one, then summarises', async () => {
    const outcome = await tryInTurn('h', route, async () => { throw fail('refused'); }, () => 'go');
    expect(outcome).toMatchObject({ ok: false, interrupted: false, failure: { kind: 'refused' } });
  });

  it('is interrupted, without a failure, when stopping before a call', async () => {
    let n = 0;
    const outcome = await tryInTurn('h', route, async () => { throw fail('unavailable'); }, () => (n++ === 0 ? 'go' : 'stopping'));
    expect(outcome).toMatchObject({ ok: false, interrupted: true });
  });

  it('ends the attempt as unavailable when the claim runs out before the next call', async () => {
    let n = 0;
    const outcome = await tryInTurn('h', route, async () => { throw fail('refused'); }, () => (n++ === 0 ? 'go' : 'out_of_time'));
    expect(outcome).toMatchObject({ ok: false, interrupted: false, failure: { kind: 'unavailable' } });
  });

  it('classifies anything unexpected as internal', async () => {
    const outcome = await tryInTurn('h', route.slice(0, 1), async () => { throw new TypeError('bug'); }, () => 'go');
    expect(outcome).toMatchObject({ ok: false, failure: { kind: 'internal', message: 'a: bug' } });
  });
});
