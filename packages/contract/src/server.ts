import * as grpc from '@grpc/grpc-js';
import type { DownloaderRpcs } from './messages';
import { downloaderService } from './proto';
import { AppError, errorMessage, type ErrorKind } from '@dwld/errors';

/** A handler per Downloader rpc; what it throws answers the status grpcStatusOf gives. */
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

/**
 * The gRPC status of each kind of error, at dwld's gRPC servers' edge. A caller is refused
 * (forbidden) only for a missing or wrong token, which gRPC calls UNAUTHENTICATED.
 */
export const GRPC_STATUS_OF_KIND: Readonly<Record<ErrorKind, grpc.status>> = {
  invalid_input: grpc.status.INVALID_ARGUMENT,
  not_found: grpc.status.NOT_FOUND,
  forbidden: grpc.status.UNAUTHENTICATED,
  unavailable: grpc.status.UNAVAILABLE,
  limit_reached: grpc.status.RESOURCE_EXHAUSTED,
  internal: grpc.status.INTERNAL,
};

/** The status a handler's error answers with: a GrpcStatusError's own, an AppError's kind's, else INTERNAL. */
export function grpcStatusOf(err: unknown): grpc.status {
  if (err instanceof GrpcStatusError) return err.code;
  if (err instanceof AppError) return GRPC_STATUS_OF_KIND[err.kind];
  return grpc.status.INTERNAL;
}

/** Adapts a promise-returning handler to grpc-js's callback style. */
export function unary<Req, Res>(handler: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    handler(call.request, call).then(
      (response) => callback(null, response),
      (err: unknown) => {
        callback({ code: grpcStatusOf(err), details: errorMessage(err) });
      },
    );
  };
}

/** `options`: grpc-js server options (e.g. `grpc.max_receive_message_length`). */
export async function startGrpcServer(register: (server: grpc.Server) => void, host: string, port: number, options?: grpc.ServerOptions): Promise<RunningServer> {
  const server = new grpc.Server(options);
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
