// Test helpers: real gRPC downloaders, a PostgreSQL proxy that can be cut, and readers for the streams.
import { GrpcStatusError, serveDownloader, type RunningServer, type SetToQueueRequest } from '@dwld/contract';
import type { Database } from '@dwld/db';
import { decodeEntry, dispatchResult, streamKey, type AnyEventDef, type DispatchResult } from '@dwld/events';
import type { Redis } from 'ioredis';

/** gRPC status codes the tests answer with (the numbers of grpc.status). */
export const Status = { INVALID_ARGUMENT: 3, FAILED_PRECONDITION: 9, UNAVAILABLE: 14 } as const;

export type Behaviour = (request: SetToQueueRequest) => Promise<void> | void;

/** A real grpc.v1.Downloader on loopback that records every SetToQueue and answers as told. */
export class FakeDownloader {
  readonly calls: SetToQueueRequest[] = [];
  /** Calls started and not answered yet. */
  inFlight = 0;
  behaviour: Behaviour = () => undefined;

  private constructor(
    readonly name: string,
    private readonly server: RunningServer,
  ) {}

  static async start(name: string, behaviour?: Behaviour): Promise<FakeDownloader> {
    let self: FakeDownloader | undefined;
    const server = await serveDownloader({
      SetToQueue: async (request) => {
        const downloader = self!;
        // As the downloader reads it (without the loader's synthetic oneof field for `optional`).
        const { link, userName, maxQuality } = request;
        downloader.calls.push({ link, userName, ...(maxQuality === undefined ? {} : { maxQuality }) });
        downloader.inFlight++;
        try {
          await downloader.behaviour(request);
        } finally {
          downloader.inFlight--;
        }
        return { linksInWork: [{ link: request.link, status: 'queued', maxQuantity: String(request.maxQuality ?? '') }] };
      },
      DeleteFromQueue: async () => ({ linksInWork: [] }),
      CleanHistory: async () => ({ history: [] }),
      Status: async () => ({ linksInWork: [], sensors: '' }),
      Queue: async () => ({ queue: [] }),
      Healtheck: async () => ({ message: 'ok' }),
    });
    self = new FakeDownloader(name, server);
    if (behaviour) self.behaviour = behaviour;
    return self;
  }

  get port(): number {
    return this.server.port;
  }

  links(): string[] {
    return this.calls.map((call) => call.link);
  }

  stop(): Promise<void> {
    return this.server.stop(100);
  }
}

export function refuse(code: number, message: string): never {
  throw new GrpcStatusError(code as never, message);
}

/** Writes the downloader's row as the registry does (upsert by name). */
export async function register(db: Database, downloader: { name: string; port: number }, patterns: string[], healthy = true): Promise<void> {
  const now = new Date();
  const data = { host: '127.0.0.1', port: downloader.port, allowedPatterns: patterns, healthy, registeredAt: now, lastSeenAt: now };
  await db.downloader.upsert({ where: { name: downloader.name }, create: { name: downloader.name, ...data }, update: data });
}

/** Every event of one type in the stream, decoded, with its event id. */
export async function readEvents<D extends AnyEventDef>(redis: Redis, prefix: string, event: D) {
  const entries = await redis.xrange(streamKey(prefix, event), '-', '+');
  return entries.map(([, fields]) => {
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
    const decoded = decodeEntry(event, record);
    if (!decoded.ok) throw new Error(decoded.reason);
    return { eventId: decoded.eventId, payload: decoded.payload };
  });
}

export function readResults(redis: Redis, prefix: string): Promise<Array<{ eventId: string; payload: DispatchResult }>> {
  return readEvents(redis, prefix, dispatchResult);
}

/** True once the group has read every entry of the stream and acknowledged them all. */
export async function groupCaughtUp(redis: Redis, prefix: string, event: AnyEventDef, group: string): Promise<boolean> {
  const stream = streamKey(prefix, event);
  const length = await redis.xlen(stream);
  const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  for (const info of groups) {
    const fields: Record<string, unknown> = {};
    for (let i = 0; i + 1 < info.length; i += 2) fields[String(info[i])] = info[i + 1];
    if (fields.name === group) return Number(fields['entries-read']) === length && Number(fields.pending) === 0;
  }
  return false;
}

export { CuttableProxy } from '@dwld/testkit';

