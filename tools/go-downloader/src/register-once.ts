import * as grpc from '@grpc/grpc-js';
import { BotClient, type RegisterDownloaderRequest } from '@dwld/contract';
import { GO_CODE_NAMES } from './go-facts';

export interface RegisterOnceOptions {
  /** host:port of the registry (its config's register.to). */
  registryAddress: string;
  /** register.name. */
  name: string;
  /** register.assign, the raw string ("all", "youtube.com, rutube.ru,"). */
  assign: string;
  /** grpc.host, sent as is: may be '' or 0.0.0.0. */
  host: string;
  /** grpc.port. */
  port: number;
  /** The Go call has no deadline (context.Background()); give one so a test cannot hang. */
  deadlineMs?: number;
  /** Where the line the Go downloader prints on failure goes; default nowhere. */
  log?: (line: string) => void;
}

export interface RegisterOnceResult {
  /** Exactly what was sent. */
  request: RegisterDownloaderRequest;
  /** null when the registry accepted it. */
  error: grpc.ServiceError | null;
  /** On failure, the line the Go one prints: `RegisterDownloader(RegisterDownloader): rpc error: code = … desc = …`. */
  printed?: string;
}

/** allowedRootLinks as the Go downloader makes them: strings.Split(assign, ","), nothing trimmed, empties kept. */
export function goRootLinks(assign: string): string[] {
  return assign.split(',');
}

/**
 * Registers as the deployed Go downloader does (internal/repo/register/grpc.go): one call to
 * grpc.v1.Bot/RegisterDownloader with serverName, serverHost, serverPort and the raw split
 * allowedRootLinks, no metadata (no token), no deadline unless asked, not waiting for the
 * registry to be ready. A failure is only reported (returned, and printed through `log`): it
 * never retries and never throws.
 */
export async function registerOnce(options: RegisterOnceOptions): Promise<RegisterOnceResult> {
  const request: RegisterDownloaderRequest = {
    serverName: options.name,
    serverHost: options.host,
    serverPort: options.port | 0, // int32(conf.From.Port)
    allowedRootLinks: goRootLinks(options.assign),
  };
  const client = new BotClient(options.registryAddress, grpc.credentials.createInsecure());
  const call = client.RegisterDownloader as (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void) => void;
  const callOptions: grpc.CallOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  try {
    const error = await new Promise<grpc.ServiceError | null>((resolve) => call.call(client, request, new grpc.Metadata(), callOptions, (err) => resolve(err)));
    if (!error) return { request, error: null };
    const printed = `RegisterDownloader(RegisterDownloader): rpc error: code = ${GO_CODE_NAMES[error.code] ?? `Code(${error.code})`} desc = ${error.details}`;
    options.log?.(printed);
    return { request, error, printed };
  } finally {
    client.close();
  }
}
