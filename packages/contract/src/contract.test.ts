import * as grpc from '@grpc/grpc-js';
import { ForbiddenError, InternalError, InvalidInputError, LimitReachedError, NotFoundError, UnavailableError } from '@dwld/errors';
import { freePort, waitFor } from '@dwld/testkit';
import {
  registerDownloader,
  classifyGrpcStatus,
  DownloaderCallError,
  DownloaderClient,
  GrpcStatusError,
  grpcStatusOf,
  loadContract,
  serveDownloader,
  startGrpcServer,
  botService,
  unary,
  type DownloaderAddress,
  type DownloaderHandlers,
  type RegisterDownloaderRequest,
  type RunningServer,
  type SetToQueueRequest,
} from './index';

type Method = { requestSerialize(v: unknown): Buffer; requestDeserialize(b: Buffer): unknown; responseSerialize(v: unknown): Buffer; responseDeserialize(b: Buffer): unknown; path: string };
const method = (service: string, rpc: string) => (loadContract()[`grpc.v1.${service}`] as unknown as Record<string, Method>)[rpc]!;

describe('wire contract (bytes as the deployed downloaders read them)', () => {
  it('names the rpcs as deployed, Healtheck included', () => {
    expect(method('Bot', 'RegisterDownloader').path).toBe('/grpc.v1.Bot/RegisterDownloader');
    const paths = ['SetToQueue', 'DeleteFromQueue', 'CleanHistory', 'Status', 'Queue', 'Healtheck'].map((rpc) => method('Downloader', rpc).path);
    expect(paths).toEqual(['SetToQueue', 'DeleteFromQueue', 'CleanHistory', 'Status', 'Queue', 'Healtheck'].map((rpc) => `/grpc.v1.Downloader/${rpc}`));
  });

  it('encodes RegisterDownloaderRequest with fields 1-4', () => {
    const bytes = method('Bot', 'RegisterDownloader').requestSerialize({ serverName: 'n', allowedRootLinks: ['a', 'b'], serverHost: 'h', serverPort: 9000 });
    // 1:"n" 2:"a" 2:"b" 3:"h" 4:9000 (varint 0xa8 0x46)
    expect(bytes.toString('hex')).toBe('0a016e1201611201621a0168' + '20a846');
  });

  it('encodes maxQuality only when set, 0 included (proto3 optional)', () => {
    const setToQueue = method('Downloader', 'SetToQueue');
    expect(setToQueue.requestSerialize({ link: 'a', userName: 'b' }).toString('hex')).toBe('0a0161120162');
    expect(setToQueue.requestSerialize({ link: 'a', userName: 'b', maxQuality: 0 }).toString('hex')).toBe('0a01611201621800');
    expect(setToQueue.requestSerialize({ link: 'a', userName: 'b', maxQuality: 720 }).toString('hex')).toBe('0a0161120162' + '18d005');
    expect(setToQueue.requestDeserialize(Buffer.from('0a0161120162', 'hex'))).not.toHaveProperty('maxQuality');
  });

  it('reads Status with int64 and double fields as numbers', () => {
    const status = method('Downloader', 'Status');
    const decoded = status.responseDeserialize(status.responseSerialize({ linksInWork: [{ link: 'x', targetQuantity: 1080, procentage: 42.5, totalSize: 1.5e9 }], sensors: 't=40' }));
    expect(decoded).toEqual({
      linksInWork: [{ link: 'x', filename: '', moveTo: '', targetQuantity: 1080, procentage: 42.5, status: '', currentSize: 0, totalSize: 1.5e9, message: '' }],
      sensors: 't=40',
    });
  });
});

describe('classifyGrpcStatus', () => {
  it.each([
    [grpc.status.UNAVAILABLE, 'unavailable'],
    [grpc.status.DEADLINE_EXCEEDED, 'unavailable'],
    [grpc.status.RESOURCE_EXHAUSTED, 'unavailable'],
    [grpc.status.INVALID_ARGUMENT, 'refused'],
    [grpc.status.FAILED_PRECONDITION, 'refused'],
    [grpc.status.UNIMPLEMENTED, 'internal'],
    [grpc.status.INTERNAL, 'internal'],
  ])('status %s is %s', (code, failure) => expect(classifyGrpcStatus(code)).toBe(failure));
});

describe('DownloaderClient against real gRPC servers', () => {
  const servers: RunningServer[] = [];
  afterAll(() => Promise.all(servers.map((s) => s.stop(100))));

  function downloader(overrides: Partial<DownloaderHandlers> = {}, seen: SetToQueueRequest[] = []) {
    const handlers: DownloaderHandlers = {
      SetToQueue: async (req) => (seen.push(req), { linksInWork: [{ link: req.link, status: 'queued', maxQuantity: String(req.maxQuality ?? 'max') }] }),
      DeleteFromQueue: async (req) => ({ linksInWork: [{ link: req.link, status: 'deleted', maxQuantity: '' }] }),
      CleanHistory: async () => ({ history: [] }),
      Status: async () => ({ linksInWork: [], sensors: 'ok' }),
      Queue: async () => ({ queue: [{ link: 'https://a', status: 'done', maxQuantity: '720', name: 'a.mp4' }] }),
      Healtheck: async () => ({ message: 'fine' }),
      ...overrides,
    };
    return serveDownloader(handlers).then((s) => (servers.push(s), s));
  }

  it('sends link, userName and maxQuality, and reads the answer', async () => {
    const seen: SetToQueueRequest[] = [];
    const server = await downloader({}, seen);
    const client = new DownloaderClient({ lookup: async () => ({ host: '127.0.0.1', port: server.port }), deadlineMs: 2000 });
    const response = await client.setToQueue('d1', { link: 'https://youtu.be/x', userName: '[bob] Music', maxQuality: 1080 });
    await client.setToQueue('d1', { link: 'https://youtu.be/y', userName: 'bob' });
    expect(seen[0]).toMatchObject({ link: 'https://youtu.be/x', userName: '[bob] Music', maxQuality: 1080 });
    expect(seen[1]).not.toHaveProperty('maxQuality');
    expect(response.linksInWork).toEqual([{ link: 'https://youtu.be/x', status: 'queued', maxQuantity: '1080' }]);
    expect((await client.queue('d1')).queue[0]).toMatchObject({ name: 'a.mp4' });
    expect(await client.healtheck('d1')).toMatchObject({ message: 'fine' });
  });

  it('looks the address up at each call, so a re-registered downloader is reached at its new address', async () => {
    const first = await downloader({ Healtheck: async () => ({ message: 'first' }) });
    const second = await downloader({ Healtheck: async () => ({ message: 'second' }) });
    let address: DownloaderAddress = { host: '127.0.0.1', port: first.port };
    const client = new DownloaderClient({ lookup: async () => address, deadlineMs: 2000 });
    expect((await client.healtheck('d')).message).toBe('first');
    address = { host: '127.0.0.1', port: second.port };
    expect((await client.healtheck('d')).message).toBe('second');
    client.close();
  });

  it('keeps one channel per address while it is used and closes it once idle', async () => {
    const first = await downloader({ Healtheck: async () => ({ message: 'first' }) });
    const second = await downloader({ Healtheck: async () => ({ message: 'second' }) });
    let address: DownloaderAddress = { host: '127.0.0.1', port: first.port };
    let now = 1_000_000;
    const client = new DownloaderClient({ lookup: async () => address, deadlineMs: 2000, idleClientMs: 60_000, now: () => now });
    await Promise.all([client.healtheck('d'), client.healtheck('d'), client.healtheck('d')]);
    expect(client.openAddresses).toEqual([`127.0.0.1:${first.port}`]);
    address = { host: '127.0.0.1', port: second.port };
    expect((await client.healtheck('d')).message).toBe('second');
    expect(client.openAddresses).toEqual([`127.0.0.1:${first.port}`, `127.0.0.1:${second.port}`]);
    // The old address goes once unused for idleClientMs (checked on the next call).
    now += 30_000;
    await client.healtheck('d');
    expect(client.openAddresses).toHaveLength(2);
    now += 30_001;
    expect((await client.healtheck('d')).message).toBe('second');
    expect(client.openAddresses).toEqual([`127.0.0.1:${second.port}`]);
    client.close();
    expect(client.openAddresses).toEqual([]);
  });

  it('says no_downloader for an unknown name', async () => {
    const client = new DownloaderClient({ lookup: async () => null, deadlineMs: 500 });
    await expect(client.status('ghost')).rejects.toMatchObject({ failure: 'no_downloader', kind: 'not_found', downloader: 'ghost' });
  });

  it('says unavailable when nothing listens', async () => {
    const port = await freePort();
    const client = new DownloaderClient({ lookup: async () => ({ host: '127.0.0.1', port }), deadlineMs: 2000 });
    const err = await client.setToQueue('down', { link: 'https://a', userName: 'u' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloaderCallError);
    expect(err).toMatchObject({ failure: 'unavailable', kind: 'unavailable', code: grpc.status.UNAVAILABLE });
  });

  it('says unavailable when the downloader hangs past the deadline', async () => {
    const hung: Array<() => void> = [];
    const server = await downloader({ SetToQueue: () => new Promise((resolve) => hung.push(() => resolve({ linksInWork: [] }))) });
    const client = new DownloaderClient({ lookup: async () => ({ host: '127.0.0.1', port: server.port }), deadlineMs: 300 });
    await expect(client.setToQueue('slow', { link: 'https://a', userName: 'u' })).rejects.toMatchObject({ failure: 'unavailable', code: grpc.status.DEADLINE_EXCEEDED });
    hung.forEach((release) => release());
  });

  it('says refused with the downloader\'s reason for INVALID_ARGUMENT', async () => {
    const server = await downloader({
      SetToQueue: async () => {
        throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'unsupported site');
      },
    });
    const client = new DownloaderClient({ lookup: async () => ({ host: '127.0.0.1', port: server.port }), deadlineMs: 2000 });
    const err = (await client.setToQueue('picky', { link: 'https://a', userName: 'u' }).catch((e: unknown) => e)) as DownloaderCallError;
    expect(err).toMatchObject({ failure: 'refused', kind: 'invalid_input', method: 'SetToQueue' });
    expect(err.message).toContain('unsupported site');
    expect(err.message).toContain('picky');
    // The downloader's own words alone, for a person to read.
    expect(err.details).toBe('unsupported site');
  });
});

describe('Bot service', () => {
  it('carries a registration from a client to a server unchanged', async () => {
    const received: RegisterDownloaderRequest[] = [];
    const server = await startGrpcServer(
      (s) => s.addService(botService(), { RegisterDownloader: unary(async (req: RegisterDownloaderRequest) => (received.push(req), {})) }),
      '127.0.0.1',
      0,
    );
    const request: RegisterDownloaderRequest = { serverName: 'home', allowedRootLinks: ['youtube.com', '*'], serverHost: '10.0.0.2', serverPort: 50051 };
    await registerDownloader(`127.0.0.1:${server.port}`, request, { token: 't0k3n' });
    await waitFor(() => received.length === 1);
    expect(received[0]).toEqual(request);
    await server.stop(100);
  });
});

describe('grpcStatusOf (the gRPC servers\' edge)', () => {
  it.each([
    [new InvalidInputError('bad'), grpc.status.INVALID_ARGUMENT],
    [new NotFoundError('gone'), grpc.status.NOT_FOUND],
    [new ForbiddenError('no token'), grpc.status.UNAUTHENTICATED],
    [new UnavailableError('database away'), grpc.status.UNAVAILABLE],
    [new LimitReachedError('too many at once'), grpc.status.RESOURCE_EXHAUSTED],
    [new InternalError('bug'), grpc.status.INTERNAL],
    [new GrpcStatusError(grpc.status.UNKNOWN, 'as the Go downloader says'), grpc.status.UNKNOWN],
    [new Error('plain'), grpc.status.INTERNAL],
  ])('%s answers %s', (err, status) => {
    expect(grpcStatusOf(err)).toBe(status);
  });
});
