import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { DownloaderError } from '@dwld/errors';
import { freePort } from '@dwld/testkit';
import {
  droppedInFlight,
  GrpcStatusError,
  GrpcV1Downloaders,
  serveDownloader,
  type DownloaderAddress,
  type DownloaderHandlers,
  type DownloaderLookup,
  type DownloaderPort,
  type RunningServer,
} from './index';

type Seen = Array<{ method: string; request: Record<string, unknown> }>;

describe('GrpcV1Downloaders: the DownloaderPort over grpc.v1 (real gRPC servers on loopback)', () => {
  const servers: RunningServer[] = [];
  const ports: DownloaderPort[] = [];
  afterAll(async () => {
    ports.forEach((port) => port.close());
    await Promise.all(servers.map((s) => s.stop(100)));
  });

  /** A grpc.v1 downloader recording every request as it reads it off the wire. */
  async function downloader(overrides: Partial<DownloaderHandlers> = {}) {
    const seen: Seen = [];
    const record = (method: string, request: object) => {
      // Without the loader's synthetic oneof field for `optional`: the fields as the downloader reads them.
      const { _maxQuality, ...fields } = request as Record<string, unknown>;
      seen.push({ method, request: fields });
    };
    const handlers: DownloaderHandlers = {
      SetToQueue: async (req) => (record('SetToQueue', req), { linksInWork: [{ link: req.link, status: 'NEW', maxQuantity: '' }] }),
      DeleteFromQueue: async (req) => (record('DeleteFromQueue', req), { linksInWork: [] }),
      CleanHistory: async (req) => (record('CleanHistory', req), { history: [{ link: 'https://old', status: 'DONE', maxQuantity: '720' }, { link: 'https://older', status: 'DONE', maxQuantity: '1080' }] }),
      Status: async (req) => (record('Status', req), { linksInWork: [], sensors: '' }),
      Queue: async (req) => (record('Queue', req), { queue: [] }),
      Healtheck: async (req) => (record('Healtheck', req), { message: 'OK' }),
      ...overrides,
    };
    const server = await serveDownloader(handlers);
    servers.push(server);
    return { seen, address: { host: '127.0.0.1', port: server.port } as DownloaderAddress };
  }

  function port(lookup: DownloaderLookup, deadlineMs = 2000): GrpcV1Downloaders {
    const downloaders = new GrpcV1Downloaders({ lookup, deadlineMs });
    ports.push(downloaders);
    return downloaders;
  }

  const at = (address: DownloaderAddress) => port(async () => address);

  describe('maps each method to its rpc and back', () => {
    it('handOver: SetToQueue with link, userName and maxQuality; no maxQuality stays absent on the wire, 0 is sent', async () => {
      const { seen, address } = await downloader();
      const downloaders = at(address);
      await expect(downloaders.handOver('nas', { url: 'https://youtu.be/x', destination: '[bob] Music', maxQuality: 1080 })).resolves.toBeUndefined();
      await downloaders.handOver('nas', { url: 'https://youtu.be/y', destination: 'bob' });
      await downloaders.handOver('nas', { url: 'https://youtu.be/z', destination: 'bob', maxQuality: 0 });
      expect(seen).toEqual([
        { method: 'SetToQueue', request: { link: 'https://youtu.be/x', userName: '[bob] Music', maxQuality: 1080 } },
        { method: 'SetToQueue', request: { link: 'https://youtu.be/y', userName: 'bob' } },
        { method: 'SetToQueue', request: { link: 'https://youtu.be/z', userName: 'bob', maxQuality: 0 } },
      ]);
      expect(seen[1]!.request).not.toHaveProperty('maxQuality');
    });

    it('remove: DeleteFromQueue with the link; clean: CleanHistory, counting the history it dropped', async () => {
      const { seen, address } = await downloader();
      const downloaders = at(address);
      await expect(downloaders.remove('nas', 'https://a')).resolves.toBeUndefined();
      await expect(downloaders.clean('nas')).resolves.toBe(2);
      expect(seen).toEqual([
        { method: 'DeleteFromQueue', request: { link: 'https://a' } },
        { method: 'CleanHistory', request: {} },
      ]);
    });

    it('queue: each Task a QueuedLink, DONE (any case) finished and every other status held', async () => {
      const { address } = await downloader({
        Queue: async () => ({
          queue: [
            { link: 'https://a', status: 'NEW', maxQuantity: '720' },
            { link: 'https://b', status: 'WORK', maxQuantity: '1080', name: 'b.mp4' },
            { link: 'https://c', status: 'TO_SEND', maxQuantity: '', name: 'c.mp4' },
            { link: 'https://d', status: 'DONE', maxQuantity: '', name: 'd.mp4' },
            { link: 'https://e', status: 'done', maxQuantity: '', message: 'kept until cleaned' },
            { link: 'https://f', status: 'Done', maxQuantity: '' },
            { link: 'https://g', status: 'DONE?', maxQuantity: '' },
          ],
        }),
      });
      expect(await at(address).queue('nas')).toEqual([
        { url: 'https://a', stage: 'held', status: 'NEW' },
        { url: 'https://b', stage: 'held', status: 'WORK', fileName: 'b.mp4' },
        { url: 'https://c', stage: 'held', status: 'TO_SEND', fileName: 'c.mp4' },
        { url: 'https://d', stage: 'finished', status: 'DONE', fileName: 'd.mp4' },
        { url: 'https://e', stage: 'finished', status: 'done', message: 'kept until cleaned' },
        { url: 'https://f', stage: 'finished', status: 'Done' },
        { url: 'https://g', stage: 'held', status: 'DONE?' },
      ]);
    });

    it('queue: an empty queue is an empty list', async () => {
      const { address } = await downloader({ Queue: async () => ({ queue: [] }) });
      expect(await at(address).queue('nas')).toEqual([]);
    });

    it('status: each OnWork a DownloadProgress (procentage read as percent), with the sensors', async () => {
      const { address } = await downloader({
        Status: async () => ({
          linksInWork: [
            { link: 'https://a', filename: 'a.mp4', moveTo: '[bob] Music', targetQuantity: 1080, procentage: 42.5, status: 'WORK', currentSize: 100, totalSize: 1.5e9, message: 'fetching' },
            { link: 'https://b', filename: '', moveTo: '', targetQuantity: 0, procentage: 0, status: 'NEW', currentSize: 0, totalSize: 0, message: '' },
          ],
          sensors: 't=40',
        }),
      });
      expect(await at(address).status('nas')).toEqual({
        downloads: [
          { url: 'https://a', fileName: 'a.mp4', destination: '[bob] Music', quality: 1080, percent: 42.5, status: 'WORK', bytesDone: 100, bytesTotal: 1.5e9, message: 'fetching' },
          { url: 'https://b', fileName: '', destination: '', quality: 0, percent: 0, status: 'NEW', bytesDone: 0, bytesTotal: 0, message: '' },
        ],
        sensors: 't=40',
      });
    });

    it('health: Healtheck, with its message when it says one (an empty one too: the field has presence)', async () => {
      const { seen, address } = await downloader();
      expect(await at(address).health('nas')).toEqual({ message: 'OK' });
      expect(seen).toEqual([{ method: 'Healtheck', request: {} }]);
      const silent = await downloader({ Healtheck: async () => ({}) });
      expect(await at(silent.address).health('nas')).toEqual({});
      const blank = await downloader({ Healtheck: async () => ({ message: '' }) });
      expect(await at(blank.address).health('nas')).toEqual({ message: '' });
    });
  });

  describe('where it calls', () => {
    it('calls a name at the address looked up at that call, so a re-registration is reached at once', async () => {
      const first = await downloader({ Healtheck: async () => ({ message: 'first' }) });
      const second = await downloader({ Healtheck: async () => ({ message: 'second' }) });
      let address = first.address;
      const asked: string[] = [];
      const downloaders = port(async (name) => (asked.push(name), address));
      expect(await downloaders.health('nas')).toEqual({ message: 'first' });
      address = second.address;
      expect(await downloaders.health('nas')).toEqual({ message: 'second' });
      expect(asked).toEqual(['nas', 'nas']);
    });

    it('calls a target given with an address at that address, without looking it up', async () => {
      const given = await downloader();
      const elsewhere = await downloader();
      const asked: string[] = [];
      const downloaders = port(async (name) => (asked.push(name), elsewhere.address));
      await downloaders.handOver({ name: 'nas', address: given.address }, { url: 'https://a', destination: 'bob', maxQuality: 720 });
      expect(await downloaders.queue({ name: 'nas', address: given.address })).toEqual([]);
      expect(await downloaders.health({ name: 'nas', address: given.address })).toEqual({ message: 'OK' });
      expect(given.seen.map((s) => s.method)).toEqual(['SetToQueue', 'Queue', 'Healtheck']);
      expect(elsewhere.seen).toEqual([]);
      expect(asked).toEqual([]);
    });

    it('names the downloader of a target with an address in its failures', async () => {
      const { address } = await downloader({ Status: async () => { throw new GrpcStatusError(grpc.status.INTERNAL, 'boom'); } });
      const err = (await at(address).status({ name: 'nas', address }).catch((e: unknown) => e)) as DownloaderError;
      expect(err).toMatchObject({ failure: 'internal', downloader: 'nas', details: 'boom' });
      expect(err.message).toContain(`127.0.0.1:${address.port}`);
    });
  });

  describe('rejects with a DownloaderError', () => {
    const failing = (code: grpc.status, text: string) => async () => {
      throw new GrpcStatusError(code, text);
    };

    it.each<[string, (p: DownloaderPort) => Promise<unknown>, Partial<DownloaderHandlers>]>([
      ['handOver', (p) => p.handOver('nas', { url: 'https://a', destination: 'bob' }), { SetToQueue: failing(grpc.status.UNKNOWN, 'insert new link: UNIQUE constraint failed') }],
      ['remove', (p) => p.remove('nas', 'https://a'), { DeleteFromQueue: failing(grpc.status.UNKNOWN, 'insert new link: UNIQUE constraint failed') }],
      ['queue', (p) => p.queue('nas'), { Queue: failing(grpc.status.UNKNOWN, 'insert new link: UNIQUE constraint failed') }],
      ['status', (p) => p.status('nas'), { Status: failing(grpc.status.UNKNOWN, 'insert new link: UNIQUE constraint failed') }],
      ['clean', (p) => p.clean('nas'), { CleanHistory: failing(grpc.status.UNKNOWN, 'insert new link: UNIQUE constraint failed') }],
      ['health', (p) => p.health('nas'), { Healtheck: failing(grpc.status.UNKNOWN, 'insert new link: UNIQUE constraint failed') }],
    ])('%s: UNKNOWN is internal, its outcome uncertain, its answer not lost, with the downloader\'s own words', async (_method, call, overrides) => {
      const { address } = await downloader(overrides);
      const err = await call(at(address)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DownloaderError);
      expect(err).toMatchObject({ failure: 'internal', kind: 'internal', downloader: 'nas', details: 'insert new link: UNIQUE constraint failed', outcomeUncertain: true, answerLost: false });
    });

    it('refused for INVALID_ARGUMENT and FAILED_PRECONDITION, in the downloader\'s words; the outcome is certain', async () => {
      const { address } = await downloader({
        SetToQueue: async (req) => {
          throw new GrpcStatusError(req.link.endsWith('/locked') ? grpc.status.FAILED_PRECONDITION : grpc.status.INVALID_ARGUMENT, req.link.endsWith('/locked') ? 'login required' : 'unsupported site');
        },
      });
      const downloaders = at(address);
      const bad = await downloaders.handOver('picky', { url: 'https://a/bad', destination: 'bob' }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(DownloaderError);
      expect(bad).toMatchObject({ failure: 'refused', kind: 'invalid_input', downloader: 'picky', details: 'unsupported site', outcomeUncertain: false, answerLost: false });
      expect((bad as Error).message).toContain('picky');
      const locked = await downloaders.handOver('picky', { url: 'https://a/locked', destination: 'bob' }).catch((e: unknown) => e);
      expect(locked).toMatchObject({ failure: 'refused', details: 'login required', outcomeUncertain: false, answerLost: false });
    });

    it('unavailable, the answer lost and the outcome uncertain, when the deadline passes', async () => {
      const hung: Array<() => void> = [];
      const { address } = await downloader({ SetToQueue: () => new Promise((resolve) => hung.push(() => resolve({ linksInWork: [] }))) });
      const err = await port(async () => address, 300).handOver('slow', { url: 'https://a', destination: 'bob' }).catch((e: unknown) => e);
      hung.forEach((release) => release());
      expect(err).toBeInstanceOf(DownloaderError);
      expect(err).toMatchObject({ failure: 'unavailable', kind: 'unavailable', downloader: 'slow', outcomeUncertain: true, answerLost: true });
    });

    it('unavailable, the answer lost, when the connection drops after the downloader took the call', async () => {
      // A relay in front of the downloader, reset from inside the handler: the request arrived, its answer cannot leave.
      const relayed = new Set<Socket>();
      let release: (() => void) | undefined;
      const { address } = await downloader({
        SetToQueue: async (req) => {
          for (const socket of relayed) socket.resetAndDestroy();
          await new Promise<void>((resolve) => (release = resolve));
          return { linksInWork: [{ link: req.link, status: 'NEW', maxQuantity: '' }] };
        },
      });
      const relay = createServer((client) => {
        const upstream = connect(address.port, address.host);
        relayed.add(client);
        for (const socket of [client, upstream]) socket.on('error', () => undefined);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
      const front = { host: '127.0.0.1', port: (relay.address() as AddressInfo).port };
      try {
        const err = await at(front).handOver({ name: 'cut', address: front }, { url: 'https://a', destination: 'bob' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DownloaderError);
        expect(err).toMatchObject({ failure: 'unavailable', downloader: 'cut', outcomeUncertain: true, answerLost: true });
      } finally {
        release?.();
        await new Promise<void>((resolve) => relay.close(() => resolve()));
      }
    });

    it('the outcome certain when the downloader itself answers UNAVAILABLE', async () => {
      const { address } = await downloader({ SetToQueue: async () => { throw new GrpcStatusError(grpc.status.UNAVAILABLE, 'disk not mounted'); } });
      const err = await at(address).handOver({ name: 'busy', address }, { url: 'https://a', destination: 'bob' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ failure: 'unavailable', details: 'disk not mounted', outcomeUncertain: false, answerLost: false });
    });

    it('unavailable, the outcome certain, when nothing listens', async () => {
      const address = { host: '127.0.0.1', port: await freePort() };
      const err = await at(address).handOver({ name: 'down', address }, { url: 'https://a', destination: 'bob' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DownloaderError);
      expect(err).toMatchObject({ failure: 'unavailable', downloader: 'down', outcomeUncertain: false, answerLost: false });
    });

    it('no_downloader for a name that is not registered, before any call', async () => {
      const err = await port(async () => null).queue('ghost').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DownloaderError);
      expect(err).toMatchObject({ failure: 'no_downloader', kind: 'not_found', downloader: 'ghost', outcomeUncertain: false, answerLost: false });
    });

    it('unavailable when the address cannot be looked up', async () => {
      const err = await port(async () => {
        throw new Error('database away');
      }).health('nas').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DownloaderError);
      expect(err).toMatchObject({ failure: 'unavailable', downloader: 'nas', outcomeUncertain: false });
      expect((err as Error).message).toContain('database away');
    });

    it('internal for UNIMPLEMENTED (a downloader without the method)', async () => {
      const { address } = await downloader({ CleanHistory: failing(grpc.status.UNIMPLEMENTED, 'not here') });
      expect(await at(address).clean('nas').catch((e: unknown) => e)).toMatchObject({ failure: 'internal', details: 'not here', outcomeUncertain: false, answerLost: false });
    });
  });
});

describe('droppedInFlight: which transport failures leave a call possibly delivered', () => {
  it.each([
    [grpc.status.UNAVAILABLE, 'Connection dropped', true],
    [grpc.status.UNAVAILABLE, 'read ECONNRESET', true],
    [grpc.status.UNAVAILABLE, 'Write error: write EPIPE', true],
    [grpc.status.INTERNAL, 'Received RST_STREAM with code 2 (Internal server error)', true],
    [grpc.status.CANCELLED, 'Call cancelled', true],
    [grpc.status.UNAVAILABLE, 'No connection established. Last error: read ECONNRESET', false],
    [grpc.status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1', false],
    [grpc.status.UNAVAILABLE, 'Stream refused by server', false],
    [grpc.status.UNAVAILABLE, 'nas is unavailable (simulated failure)', false],
    [grpc.status.INTERNAL, 'database is locked', false],
    [grpc.status.INVALID_ARGUMENT, 'Connection dropped', false],
  ])('%s %j: %s', (code, details, expected) => {
    expect(droppedInFlight(code, details)).toBe(expected);
  });
});
