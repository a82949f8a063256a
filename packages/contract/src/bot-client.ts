import * as grpc from '@grpc/grpc-js';
import type { RegisterDownloaderRequest } from './messages';
import { BotClient } from './proto';

export interface RegisterOptions {
  /** Sent as `authorization: Bearer <token>` when the registry asks for one. */
  token?: string;
  deadlineMs?: number;
  credentials?: grpc.ChannelCredentials;
}

/** The name of a gRPC status code (`RESOURCE_EXHAUSTED`), or the number as text when it is none. */
export function grpcStatusName(code: number): string {
  return grpc.status[code] ?? String(code);
}

/** grpc.health.v1 ServingStatus values, as its wire carries them. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

/**
 * A connection to a registry (grpc.v1.Bot) kept for many calls: registerDownloader opens and
 * closes one per call. `ownConnection`: a TCP connection of its own rather than one shared with
 * every other client of the same target in this process (grpc-js shares them by default).
 */
export class BotConnection {
  private readonly client: grpc.Client;

  constructor(target: string, options: { credentials?: grpc.ChannelCredentials; ownConnection?: boolean } = {}) {
    this.client = new BotClient(target, options.credentials ?? grpc.credentials.createInsecure(), options.ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {});
  }

  /** Calls grpc.v1.Bot/RegisterDownloader, as a downloader does at start. */
  register(request: RegisterDownloaderRequest, options: Omit<RegisterOptions, 'credentials'> = {}): Promise<void> {
    const metadata = new grpc.Metadata();
    if (options.token !== undefined) metadata.set('authorization', `Bearer ${options.token}`);
    const register = (this.client as unknown as Record<string, unknown>).RegisterDownloader as (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void) => void;
    return new Promise<void>((resolve, reject) => {
      register.call(this.client, request, metadata, { deadline: Date.now() + (options.deadlineMs ?? 5000) }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * The registry's grpc.health.v1.Health/Check for the whole server (what an orchestrator
   * asks): `SERVING`, `NOT_SERVING`…. The request (no service named) is empty on the wire and
   * the answer one enum field, so no proto is loaded for it.
   */
  health(deadlineMs = 5000): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.client.makeUnaryRequest<Buffer, Buffer>(
        '/grpc.health.v1.Health/Check',
        () => Buffer.alloc(0),
        (bytes) => bytes,
        Buffer.alloc(0),
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err, answer) => {
          if (err) return reject(err);
          // Field 1 (status), varint: 0x08 then the value; absent means 0 (UNKNOWN).
          const value = answer && answer.length >= 2 && answer[0] === 0x08 ? answer[1]! : 0;
          resolve(SERVING_STATUS[value] ?? String(value));
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Calls grpc.v1.Bot/RegisterDownloader at `target` (host:port), as a downloader does at start. */
export async function registerDownloader(target: string, request: RegisterDownloaderRequest, options: RegisterOptions = {}): Promise<void> {
  const connection = new BotConnection(target, { credentials: options.credentials });
  try {
    await connection.register(request, options);
  } finally {
    connection.close();
  }
}
