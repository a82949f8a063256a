import * as grpc from '@grpc/grpc-js';
import { botService, GrpcStatusError, startGrpcServer, unary, type RegisterDownloaderRequest, type RunningServer } from '@dwld/contract';
import { freePort } from '@dwld/testkit';
import { goRootLinks, registerOnce } from './index';

describe('registerOnce (as the Go downloader registers)', () => {
  const servers: RunningServer[] = [];
  afterAll(() => Promise.all(servers.map((s) => s.stop(100))));

  /** A grpc.v1.Bot that records every call and answers as `answer` says. */
  async function registry(answer: (req: RegisterDownloaderRequest) => void = () => undefined) {
    const received: Array<{ request: RegisterDownloaderRequest; metadata: grpc.Metadata; deadline: grpc.Deadline }> = [];
    const server = await startGrpcServer(
      (s) =>
        s.addService(botService(), {
          RegisterDownloader: unary(async (request: RegisterDownloaderRequest, call) => {
            received.push({ request, metadata: call.metadata, deadline: call.getDeadline() });
            answer(request);
            return {};
          }),
        }),
      '127.0.0.1',
      0,
    );
    servers.push(server);
    return { address: `127.0.0.1:${server.port}`, received };
  }

  it('splits assign on "," with nothing trimmed, as strings.Split does', () => {
    expect(goRootLinks('all')).toEqual(['all']);
    expect(goRootLinks('youtube.com, rutube.ru,')).toEqual(['youtube.com', ' rutube.ru', '']);
    expect(goRootLinks('')).toEqual(['']);
  });

  it('sends name, host (even empty), port and the raw split list in one call, with no token and no deadline', async () => {
    const { address, received } = await registry();
    const result = await registerOnce({ registryAddress: address, name: 'Unona', assign: 'youtube.com, rutube.ru,', host: '', port: 8888 });
    expect(result.error).toBeNull();
    expect(received).toHaveLength(1);
    expect(received[0]!.request).toEqual({ serverName: 'Unona', allowedRootLinks: ['youtube.com', ' rutube.ru', ''], serverHost: '', serverPort: 8888 });
    expect(received[0]!.metadata.get('authorization')).toEqual([]);
    expect(received[0]!.deadline).toBe(Infinity);
    expect(result.request).toEqual(received[0]!.request);
  });

  it('sends 0.0.0.0 as is', async () => {
    const { address, received } = await registry();
    await registerOnce({ registryAddress: address, name: 'n', assign: 'all', host: '0.0.0.0', port: 8888 });
    expect(received[0]!.request).toMatchObject({ serverHost: '0.0.0.0', allowedRootLinks: ['all'] });
  });

  it('reports a refusal once and does not retry', async () => {
    const log: string[] = [];
    const { address, received } = await registry(() => {
      throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'allowedRootLinks holds no usable pattern');
    });
    const result = await registerOnce({ registryAddress: address, name: 'n', assign: ',', host: 'h', port: 1, log: (line) => log.push(line) });
    expect(result.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(result.printed).toBe('RegisterDownloader(RegisterDownloader): rpc error: code = InvalidArgument desc = allowedRootLinks holds no usable pattern');
    expect(log).toEqual([result.printed]);
    // The call is over and its channel closed: nothing is left to try again.
    expect(received).toHaveLength(1);
  });

  it('reports an unreachable registry at once (UNAVAILABLE) without waiting for it', async () => {
    const started = Date.now();
    const result = await registerOnce({ registryAddress: `127.0.0.1:${await freePort()}`, name: 'n', assign: 'all', host: 'h', port: 1 });
    expect(result.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(result.printed).toMatch(/^RegisterDownloader\(RegisterDownloader\): rpc error: code = Unavailable desc = /);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
