import * as grpc from '@grpc/grpc-js';
import type { DownloaderRpcs } from './messages';
import { downloaderService } from './proto';
import { errorMessage } from '@dwld/errors';

/** A handler per Downloader rpc; a thrown error with a `code` answers that gRPC status. */
export type DownloaderHandlers = {
  [M in keyof DownloaderRpcs]: (request: DownloaderRpcs[M][0], call: grpc.ServerUnaryCall<DownloaderRpcs[M][0], DownloaderRpcs[M][1]>) => Promise<DownloaderRpcs[M][1]>;
};

export interface RunningServer {
  port: number;
  /** Stops accepting calls and waits for those in flight (forcing after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** An error that answers the call with this gRPC status. */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/** Adapts a promise-returning handler to grpc-js's callback style. */
export function unary<Req, Res>(handler: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    handler(call.request, call).then(
      (response) => callback(null, response),
      (err: unknown) => {
        const code = err instanceof GrpcStatusError ? err.code : grpc.status.INTERNAL;
        callback({ code, details: errorMessage(err) });
      },
    );
  };
}

export async function startGrpcServer(register: (server: grpc.Server) => void, host: string, port: number): Promise<RunningServer> {
  const server = new grpc.Server();
  register(server);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port: bound,
    stop: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

/** Serves grpc.v1.Downloader (simulated downloaders, tests). */
export function serveDownloader(handlers: DownloaderHandlers, host = '127.0.0.1', port = 0): Promise<RunningServer> {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(handlers)) implementation[method] = unary(handler as never);
  return startGrpcServer((server) => server.addService(downloaderService(), implementation), host, port);
}
