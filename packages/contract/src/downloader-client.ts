import * as grpc from '@grpc/grpc-js';
import { DownloaderError, errorMessage, type DownloaderFailure } from '@dwld/errors';
import type { DownloaderMethod, DownloaderRpcs, Empty, SetToQueueRequest, SetToQueueResponse } from './messages';
import type { DownloaderAddress } from './downloader-port';
import { DownloaderGrpcClient } from './proto';

/** Where a downloader is now: read from the registry's table at the moment of each call. */
export type DownloaderLookup = (name: string) => Promise<DownloaderAddress | null>;

const TRANSIENT = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED, grpc.status.ABORTED, grpc.status.CANCELLED]);
const REFUSED = new Set([grpc.status.INVALID_ARGUMENT, grpc.status.FAILED_PRECONDITION, grpc.status.ALREADY_EXISTS, grpc.status.OUT_OF_RANGE, grpc.status.PERMISSION_DENIED]);

export function classifyGrpcStatus(code: grpc.status): DownloaderFailure {
  if (TRANSIENT.has(code)) return 'unavailable';
  if (REFUSED.has(code)) return 'refused';
  return 'internal';
}

/**
 * Whether grpc-js's status says the call was on its way, or there, when the connection went: a
 * drop or reset mid-call ("Connection dropped", "read ECONNRESET"), a stream reset, or a call
 * cancelled by the other side (this client never cancels its own). Not a call that never left
 * (no connection, a refused stream) nor a status the downloader chose, whose details are its own.
 */
export function droppedInFlight(code: grpc.status | undefined, details: string): boolean {
  if (/^(No connection established|Channel closed before call started|Stream refused)/.test(details)) return false;
  if (code === grpc.status.CANCELLED) return true;
  if (code === grpc.status.UNAVAILABLE) return /^Connection dropped$|ECONNRESET|ETIMEDOUT|EPIPE|^Write (error|failed)/.test(details);
  if (code === grpc.status.INTERNAL) return /^Received RST_STREAM/.test(details);
  return false;
}

/**
 * A failed call to a grpc.v1 downloader: a DownloaderError that also keeps the gRPC status.
 * DEADLINE_EXCEEDED loses the answer (the request may have arrived and be at work still), and so
 * does a connection that dropped mid-call (droppedInFlight): the downloader may have queued the
 * link and its answer been cut off. UNKNOWN, the deployed downloaders' answer to every error
 * ("I hold that link already" included), leaves the outcome uncertain too: only reading the
 * Queue tells.
 */
export class DownloaderCallError extends DownloaderError {
  constructor(
    failure: DownloaderFailure,
    downloader: string,
    readonly method: DownloaderMethod,
    message: string,
    readonly code?: grpc.status,
    options?: { cause?: unknown; details?: string },
  ) {
    const answerLost = code === grpc.status.DEADLINE_EXCEEDED || (code !== undefined && droppedInFlight(code, options?.details ?? ''));
    super(failure, downloader, method, message, {
      ...options,
      answerLost,
      outcomeUncertain: answerLost || code === grpc.status.UNKNOWN,
    });
  }
}

export type { DownloaderFailure };

export interface DownloaderClientOptions {
  lookup: DownloaderLookup;
  /** Every call's deadline. */
  deadlineMs: number;
  credentials?: grpc.ChannelCredentials;
  /** How long an open client to one address is kept without calls before it is closed. */
  idleClientMs?: number;
  /** The clock idle times are measured with (tests move it). */
  now?: () => number;
}

interface OpenClient {
  client: InstanceType<typeof DownloaderGrpcClient>;
  lastUsed: number;
  calls: number;
}

/**
 * A typed client for grpc.v1.Downloader. Each call looks the downloader's address up anew, so
 * a downloader that re-registered on another address is reached there at once. One channel per
 * address is kept open while it is used (making one per call costs name resolution and channel
 * setup each time) and closed after `idleClientMs` without calls.
 */
export class DownloaderClient {
  private readonly lookup: DownloaderLookup;
  private readonly deadlineMs: number;
  private readonly credentials: grpc.ChannelCredentials;
  private readonly idleClientMs: number;
  private readonly open = new Map<string, OpenClient>();
  private readonly now: () => number;
  private lastSweep: number;

  constructor(options: DownloaderClientOptions) {
    if (!(options.deadlineMs > 0)) throw new Error('deadlineMs must be positive');
    this.lookup = options.lookup;
    this.deadlineMs = options.deadlineMs;
    this.credentials = options.credentials ?? grpc.credentials.createInsecure();
    this.idleClientMs = options.idleClientMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.lastSweep = this.now();
  }

  /** Addresses with an open channel now. */
  get openAddresses(): string[] {
    return [...this.open.keys()];
  }

  /** Closes every open channel (calls in progress end as the channel allows). */
  close(): void {
    for (const { client } of this.open.values()) client.close();
    this.open.clear();
  }

  setToQueue(downloader: string, request: SetToQueueRequest): Promise<SetToQueueResponse> {
    return this.call(downloader, 'SetToQueue', request);
  }

  deleteFromQueue(downloader: string, link: string) {
    return this.call(downloader, 'DeleteFromQueue', { link });
  }

  cleanHistory(downloader: string) {
    return this.call(downloader, 'CleanHistory', {});
  }

  status(downloader: string) {
    return this.call(downloader, 'Status', {});
  }

  queue(downloader: string) {
    return this.call(downloader, 'Queue', {});
  }

  healtheck(downloader: string) {
    return this.call(downloader, 'Healtheck', {});
  }

  /** Calls a downloader by its registered name. */
  async call<M extends DownloaderMethod>(downloader: string, method: M, request: DownloaderRpcs[M][0]): Promise<DownloaderRpcs[M][1]> {
    let address: DownloaderAddress | null;
    try {
      address = await this.lookup(downloader);
    } catch (err) {
      throw new DownloaderCallError('unavailable', downloader, method, `cannot look up downloader "${downloader}": ${errorMessage(err)}`, undefined, { cause: err });
    }
    if (!address) throw new DownloaderCallError('no_downloader', downloader, method, `downloader "${downloader}" is not registered`);
    return this.callAt(address, method, request, downloader);
  }

  /** Calls the downloader at a known address (the registry's health checks use this). */
  callAt<M extends DownloaderMethod>(address: DownloaderAddress, method: M, request: DownloaderRpcs[M][0], label = `${address.host}:${address.port}`): Promise<DownloaderRpcs[M][1]> {
    const target = formatTarget(address);
    const entry = this.acquire(target);
    const client = entry.client;
    const deadline = Date.now() + this.deadlineMs;
    return new Promise<DownloaderRpcs[M][1]>((resolve, reject) => {
      const rpc = client[method] as (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<DownloaderRpcs[M][1]>) => void;
      rpc.call(client, request satisfies DownloaderRpcs[M][0] | Empty, new grpc.Metadata(), { deadline }, (err, response) => {
        if (err) {
          // A channel that failed to connect backs off before trying again; a downloader that
          // comes back at the same address must be reachable at once, so start afresh next time.
          if (err.code === grpc.status.UNAVAILABLE) this.discard(target, entry);
          const failure = classifyGrpcStatus(err.code);
          const where = `downloader "${label}" at ${formatTarget(address)}`;
          reject(new DownloaderCallError(failure, label, method, `${method} to ${where} failed: ${describeStatus(err)}`, err.code, { cause: err, details: err.details }));
        } else {
          resolve(response as DownloaderRpcs[M][1]);
        }
      });
    }).finally(() => {
      entry.calls--;
      entry.lastUsed = this.now();
      // A channel dropped meanwhile (see discard) closes once its last call is done.
      if (entry.calls === 0 && this.open.get(target) !== entry) entry.client.close();
    });
  }

  private acquire(target: string): OpenClient {
    const now = this.now();
    if (now - this.lastSweep >= this.idleClientMs / 2) this.closeIdle(now);
    let entry = this.open.get(target);
    if (!entry) {
      entry = { client: new DownloaderGrpcClient(target, this.credentials), lastUsed: now, calls: 0 };
      this.open.set(target, entry);
    }
    entry.calls++;
    entry.lastUsed = now;
    return entry;
  }

  /** The next call to `target` opens a new channel; this one closes when its calls are done. */
  private discard(target: string, entry: OpenClient): void {
    if (this.open.get(target) === entry) this.open.delete(target);
  }

  /** Closes channels to addresses nobody called for a while (a downloader that moved or left). */
  private closeIdle(now: number): void {
    this.lastSweep = now;
    for (const [target, entry] of this.open) {
      if (entry.calls === 0 && now - entry.lastUsed >= this.idleClientMs) {
        entry.client.close();
        this.open.delete(target);
      }
    }
  }
}

export function formatTarget({ host, port }: DownloaderAddress): string {
  // IPv6 literals need brackets in a target.
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

function describeStatus(err: grpc.ServiceError): string {
  const name = grpc.status[err.code] ?? String(err.code);
  return err.details ? `${name}: ${err.details}` : name;
}
