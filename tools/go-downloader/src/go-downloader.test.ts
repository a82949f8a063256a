import * as grpc from '@grpc/grpc-js';
import { DownloaderCallError, DownloaderClient, DownloaderGrpcClient } from '@dwld/contract';
import { waitFor } from '@dwld/testkit';
import {
  DEFAULT_SENSORS,
  GO_EMPTY_REQUEST_ERROR,
  GO_UNIQUE_ERROR,
  GO_UNIQUE_ERROR_BEFORE_2025_07_21,
  goQualityLimit,
  startGoDownloader,
  type RunningGoDownloader,
} from './index';

// Every test talks to the fixture through real gRPC, as the scheduler and the registry will.
describe('Go-faithful downloader (real gRPC)', () => {
  const running: RunningGoDownloader[] = [];
  const clients: DownloaderClient[] = [];
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await Promise.all(running.map((d) => d.stop()));
  });

  async function start(options: Parameters<typeof startGoDownloader>[0] = {}) {
    const go = await startGoDownloader(options);
    running.push(go);
    const client = new DownloaderClient({ lookup: async () => ({ host: '127.0.0.1', port: go.port }), deadlineMs: 2000 });
    clients.push(client);
    return { go, client };
  }

  it('queues a link as NEW and answers with every row it holds', async () => {
    const { go, client } = await start();
    const first = await client.setToQueue('go', { link: 'https://youtu.be/a', userName: 'bob', maxQuality: 1080 });
    expect(first.linksInWork).toEqual([expect.objectContaining({ link: 'https://youtu.be/a', status: 'NEW', maxQuantity: '1080', name: 'COMING SOON' })]);
    const second = await client.setToQueue('go', { link: 'https://youtu.be/b', userName: 'ann' });
    // maxQuantity is the number as stored: an absent maxQuality reads 0.
    expect(second.linksInWork.map((t) => [t.link, t.maxQuantity])).toEqual([
      ['https://youtu.be/a', '1080'],
      ['https://youtu.be/b', '0'],
    ]);
    expect(second.linksInWork[1]).not.toHaveProperty('message');
    expect(go.row('https://youtu.be/a')).toMatchObject({ userName: 'bob', status: 'NEW' });
    expect(go.calls('SetToQueue')).toEqual([
      expect.objectContaining({ link: 'https://youtu.be/a', userName: 'bob', maxQuality: 1080, outcome: 'queued', replied: true }),
      expect.objectContaining({ link: 'https://youtu.be/b', userName: 'ann', outcome: 'queued' }),
    ]);
    expect(go.calls('SetToQueue')[1]).not.toHaveProperty('maxQuality');
  });

  it('answers UNKNOWN with the unique-constraint text for a link it holds, and keeps one row', async () => {
    const { go, client } = await start();
    await client.setToQueue('go', { link: 'https://vk.com/v1', userName: 'u' });
    const err = (await client.setToQueue('go', { link: 'https://vk.com/v1', userName: 'u' }).catch((e: unknown) => e)) as DownloaderCallError;
    expect(err).toBeInstanceOf(DownloaderCallError);
    expect(err.code).toBe(grpc.status.UNKNOWN);
    expect(err.details).toBe(GO_UNIQUE_ERROR);
    expect(err.details).toBe('SetToQueue: SetToQueue: insert new link: query (exec): UNIQUE constraint failed: links.link');
    // UNKNOWN is neither "refused" nor "unavailable" to our client.
    expect(err.failure).toBe('internal');
    expect(go.tasks()).toHaveLength(1);
    expect(go.setToQueueCount('https://vk.com/v1')).toBe(2);
    expect(go.calls('SetToQueue').map((c) => c.outcome)).toEqual(['queued', 'duplicate']);
    // Still unique once DONE: only DeleteFromQueue or CleanHistory frees the link.
    go.advanceTo('https://vk.com/v1', 'DONE');
    await expect(client.setToQueue('go', { link: 'https://vk.com/v1', userName: 'u' })).rejects.toMatchObject({ code: grpc.status.UNKNOWN });
    await client.cleanHistory('go');
    await expect(client.setToQueue('go', { link: 'https://vk.com/v1', userName: 'u' })).resolves.toBeDefined();
  });

  it('speaks the older wording when asked', async () => {
    const { client } = await start({ uniqueErrorText: GO_UNIQUE_ERROR_BEFORE_2025_07_21 });
    await client.setToQueue('go', { link: 'x', userName: 'u' });
    await expect(client.setToQueue('go', { link: 'x', userName: 'u' })).rejects.toMatchObject({ details: 'SetToQueue: SetToQueue: insert new link: query: UNIQUE constraint failed: links.link' });
  });

  it('takes any non-empty link (no URL check) and answers UNKNOWN for an empty one', async () => {
    const { go, client } = await start();
    await expect(client.setToQueue('go', { link: 'not a url', userName: '' })).resolves.toMatchObject({ linksInWork: [expect.objectContaining({ link: 'not a url' })] });
    await expect(client.setToQueue('go', { link: '', userName: 'u' })).rejects.toMatchObject({ code: grpc.status.UNKNOWN, details: GO_EMPTY_REQUEST_ERROR });
    expect(go.calls('SetToQueue').map((c) => c.outcome)).toEqual(['queued', 'empty']);
  });

  it('clamps the quality of the download to 720…10000 and reports the height it got', async () => {
    expect([undefined, 0, -1, 360, 720, 1080, 4320, 10_000, 20_000].map(goQualityLimit)).toEqual([720, 720, 720, 720, 720, 1080, 4320, 10_000, 10_000]);
    const { go, client } = await start({ videoHeight: 2160 });
    const asked: Array<[string, number | undefined]> = [
      ['a', undefined],
      ['b', 360],
      ['c', 1080],
      ['d', 1000],
      ['e', 4320],
      ['f', 20_000],
    ];
    for (const [link, maxQuality] of asked) await client.setToQueue('go', { link, userName: 'u', ...(maxQuality === undefined ? {} : { maxQuality }) });
    expect(go.tasks().map((t) => t.maxQuantity)).toEqual(['0', '360', '1080', '1000', '4320', '20000']);
    go.advanceAll();
    expect((await client.queue('go')).queue.map((t) => [t.status, t.maxQuantity])).toEqual([
      ['WORK', '720'],
      ['WORK', '720'],
      ['WORK', '1080'],
      ['WORK', '720'],
      ['WORK', '2160'],
      ['WORK', '2160'],
    ]);
  });

  it('moves NEW → WORK → TO_SEND → DONE on advance; Status shows files in WORK; Queue keeps DONE until CleanHistory', async () => {
    const { go, client } = await start({ sensors: 't=40C' });
    await client.setToQueue('go', { link: 'https://a', userName: 'u', maxQuality: 1080 });
    await client.setToQueue('go', { link: 'https://b', userName: 'u', maxQuality: 1080 });
    expect(await client.status('go')).toEqual({ linksInWork: [], sensors: 't=40C' });

    expect(go.advance('https://a')).toBe('WORK');
    expect(go.setProgress('https://a', 42.5)).toBe(true);
    const status = await client.status('go');
    expect(status.linksInWork).toEqual([
      {
        link: 'https://a',
        filename: expect.stringMatching(/\.mp4$/),
        moveTo: '/downloads',
        targetQuantity: 1080,
        procentage: 42.5,
        status: 'WORK',
        currentSize: 42.5,
        totalSize: 100,
        message: expect.stringContaining('downloading ['),
      },
    ]);
    const inWork = (await client.queue('go')).queue[0]!;
    expect(inWork).toMatchObject({ status: 'WORK', maxQuantity: '1080', name: status.linksInWork[0]!.filename, message: expect.stringContaining('1080p') });

    expect(go.advance('https://a')).toBe('TO_SEND');
    expect((await client.status('go')).linksInWork).toEqual([]);
    expect(go.row('https://a')?.message).toBe('download complete on stage #1 witn retries on stage 0');
    expect(go.advance('https://a')).toBe('DONE');
    expect(go.advance('https://a')).toBe('DONE');
    expect(go.advance('https://nothing')).toBeUndefined();

    expect((await client.queue('go')).queue.map((t) => [t.link, t.status])).toEqual([
      ['https://a', 'DONE'],
      ['https://b', 'NEW'],
    ]);
    // CleanHistory deletes the DONE rows and answers with what is left (as the Go one does).
    expect((await client.cleanHistory('go')).history.map((t) => [t.link, t.status])).toEqual([['https://b', 'NEW']]);
    expect((await client.queue('go')).queue.map((t) => t.link)).toEqual(['https://b']);
    expect(go.calls().map((c) => c.method)).toEqual(['SetToQueue', 'SetToQueue', 'Status', 'Status', 'Queue', 'Status', 'Queue', 'CleanHistory', 'Queue']);
  });

  it('passes through SENDING when asked, shown in Status as the copy to storage', async () => {
    const { go, client } = await start({ sending: true });
    await client.setToQueue('go', { link: 'l', userName: 'u' });
    expect(go.advanceTo('l', 'SENDING')).toBe('SENDING');
    expect((await client.status('go')).linksInWork).toEqual([expect.objectContaining({ link: 'l', status: 'SENDING', procentage: 100, moveTo: '/storage' })]);
    expect(go.advance('l')).toBe('DONE');
  });

  it('deletes a row whatever its status and answers with the rows left; an unknown link is no error', async () => {
    const { go, client } = await start();
    for (const link of ['a', 'b', 'c']) await client.setToQueue('go', { link, userName: 'u' });
    go.advance('b');
    expect((await client.deleteFromQueue('go', 'b')).linksInWork.map((t) => t.link)).toEqual(['a', 'c']);
    expect((await client.deleteFromQueue('go', 'zzz')).linksInWork.map((t) => t.link)).toEqual(['a', 'c']);
    expect((await client.deleteFromQueue('go', '')).linksInWork.map((t) => t.link)).toEqual(['a', 'c']);
    expect(go.calls('DeleteFromQueue').map((c) => c.outcome)).toEqual(['deleted', 'absent', 'absent']);
    // Deleted, so it can be queued again.
    await client.setToQueue('go', { link: 'b', userName: 'u' });
    expect(go.statusOf('b')).toBe('NEW');
  });

  it('sends a failed download back to NEW with the reason, and a restart puts WORK back to NEW', async () => {
    const { go, client } = await start();
    await client.setToQueue('go', { link: 'a', userName: 'u' });
    await client.setToQueue('go', { link: 'b', userName: 'u' });
    go.advanceAll();
    expect(go.failDownload('a', 'ERROR: [youtube] x: Video unavailable')).toBe(true);
    expect((await client.queue('go')).queue[0]).toMatchObject({ status: 'NEW', message: 'download failed on stage #1 with retries on stage 0. Reason: ERROR: [youtube] x: Video unavailable' });
    await go.restart();
    expect(go.statusOf('b')).toBe('NEW');
    expect((await client.queue('go')).queue.map((t) => t.status)).toEqual(['NEW', 'NEW']);
  });

  it('answers Healtheck with OK', async () => {
    const { client } = await start();
    expect(await client.healtheck('go')).toMatchObject({ message: 'OK' });
  });

  it('fails the next n SetToQueue calls, or all of them, with UNKNOWN and the given text; nothing inserted', async () => {
    const { go, client } = await start();
    go.failNext(2, 'SetToQueue: SetToQueue: insert new link: query (exec): database is locked');
    for (let i = 0; i < 2; i += 1) {
      await expect(client.setToQueue('go', { link: 'a', userName: 'u' })).rejects.toMatchObject({ code: grpc.status.UNKNOWN, details: expect.stringContaining('database is locked') });
    }
    expect(go.tasks()).toEqual([]);
    await client.setToQueue('go', { link: 'a', userName: 'u' });
    go.alwaysFail('disk full');
    for (const link of ['b', 'c']) await expect(client.setToQueue('go', { link, userName: 'u' })).rejects.toMatchObject({ code: grpc.status.UNKNOWN, details: 'disk full' });
    // Other rpcs are untouched.
    expect((await client.queue('go')).queue).toHaveLength(1);
    go.clearFaults();
    await client.setToQueue('go', { link: 'b', userName: 'u' });
    expect(go.calls('SetToQueue').map((c) => c.outcome)).toEqual(['failed', 'failed', 'queued', 'failed', 'failed', 'queued']);
    go.failNext(1, 'boom', 'Healtheck');
    await expect(client.healtheck('go')).rejects.toMatchObject({ code: grpc.status.UNKNOWN, details: 'boom' });
    await expect(client.healtheck('go')).resolves.toMatchObject({ message: 'OK' });
  });

  it('loses a reply: the link is queued, the caller hits its deadline, a retry is refused as a duplicate', async () => {
    const { go } = await start();
    const client = new DownloaderClient({ lookup: async () => ({ host: '127.0.0.1', port: go.port }), deadlineMs: 300 });
    clients.push(client);
    go.loseReplies(1);
    await expect(client.setToQueue('go', { link: 'https://lost', userName: 'u' })).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED, failure: 'unavailable' });
    expect(go.statusOf('https://lost')).toBe('NEW');
    expect(go.calls('SetToQueue')).toEqual([expect.objectContaining({ link: 'https://lost', outcome: 'queued', replied: false })]);
    await expect(client.setToQueue('go', { link: 'https://lost', userName: 'u' })).rejects.toMatchObject({ code: grpc.status.UNKNOWN, details: GO_UNIQUE_ERROR });
    expect(go.heldReplies()).toBe(0);
  });

  it('releases a held reply on stop', async () => {
    const go = await startGoDownloader();
    go.loseReplies(1);
    const raw = new DownloaderGrpcClient(`127.0.0.1:${go.port}`, grpc.credentials.createInsecure());
    const answer = new Promise<grpc.ServiceError | null>((resolve) => (raw.SetToQueue as (r: unknown, cb: (e: grpc.ServiceError | null) => void) => void)({ link: 'x', userName: 'u' }, (e) => resolve(e)));
    await waitFor(() => go.heldReplies() === 1, { what: 'the call to be held' });
    await go.stop();
    expect(go.heldReplies()).toBe(0);
    // The connection is cut under the call: never an answer from the downloader itself.
    expect([grpc.status.CANCELLED, grpc.status.UNAVAILABLE]).toContain((await answer)?.code);
    raw.close();
  });

  it('goes down and comes back on the same port with what it held', async () => {
    const { go, client } = await start();
    await client.setToQueue('go', { link: 'kept', userName: 'u' });
    const port = go.port;
    await go.down();
    expect(go.isUp()).toBe(false);
    await expect(client.healtheck('go')).rejects.toMatchObject({ failure: 'unavailable' });
    await go.up();
    expect(go.port).toBe(port);
    expect((await client.queue('go')).queue.map((t) => t.link)).toEqual(['kept']);
  });

  it('moves tasks on a timer when workMs is given', async () => {
    const { go, client } = await start({ workMs: 30 });
    await client.setToQueue('go', { link: 'timed', userName: 'u' });
    await waitFor(() => go.statusOf('timed') === 'DONE', { what: 'the timed download to finish' });
    expect(go.row('timed')).toMatchObject({ status: 'DONE', targetQuality: 720 });
    expect((await client.status('go')).sensors).toBe(DEFAULT_SENSORS);
  });
});
