import * as grpc from '@grpc/grpc-js';
import { botService, GrpcStatusError, startGrpcServer, unary, type RegisterDownloaderRequest, type RunningServer } from '@dwld/contract';

/** A registry as a downloader sees it (tests only): grpc.v1.Bot recording every call. */
export interface FakeRegistry {
  server: RunningServer;
  /** host:port to give REGISTRY_ADDRESS. */
  address: string;
  calls: Array<{ request: RegisterDownloaderRequest; authorization: string | undefined }>;
  /** The next this-many calls answer UNAVAILABLE. */
  failNext: number;
}

export async function startFakeRegistry(options: { port?: number; failNext?: number } = {}): Promise<FakeRegistry> {
  const calls: FakeRegistry['calls'] = [];
  const registry: Omit<FakeRegistry, 'server' | 'address'> = { calls, failNext: options.failNext ?? 0 };
  const server = await startGrpcServer(
    (s) =>
      s.addService(botService(), {
        RegisterDownloader: unary<RegisterDownloaderRequest, object>(async (request, call) => {
          calls.push({ request, authorization: call.metadata.get('authorization')[0]?.toString() });
          if (registry.failNext > 0) {
            registry.failNext -= 1;
            throw new GrpcStatusError(grpc.status.UNAVAILABLE, 'registry is starting');
          }
          return {};
        }),
      }),
    '127.0.0.1',
    options.port ?? 0,
  );
  return Object.assign(registry, { server, address: `127.0.0.1:${server.port}` });
}
