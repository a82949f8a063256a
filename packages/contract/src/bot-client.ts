import * as grpc from '@grpc/grpc-js';
import type { RegisterDownloaderRequest } from './messages';
import { BotClient } from './proto';

export interface RegisterOptions {
  /** Sent as `authorization: Bearer <token>` when the registry asks for one. */
  token?: string;
  deadlineMs?: number;
  credentials?: grpc.ChannelCredentials;
}

/** Calls grpc.v1.Bot/RegisterDownloader at `target` (host:port), as a downloader does at start. */
export function registerDownloader(target: string, request: RegisterDownloaderRequest, options: RegisterOptions = {}): Promise<void> {
  const client = new BotClient(target, options.credentials ?? grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (options.token !== undefined) metadata.set('authorization', `Bearer ${options.token}`);
  const register = client.RegisterDownloader as (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void) => void;
  return new Promise<void>((resolve, reject) => {
    register.call(client, request, metadata, { deadline: Date.now() + (options.deadlineMs ?? 5000) }, (err) => (err ? reject(err) : resolve()));
  }).finally(() => client.close());
}
