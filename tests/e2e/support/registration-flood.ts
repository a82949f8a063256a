// A flood of RegisterDownloader calls, as an attacker would send them: from several addresses
// (127.0.0.2, 127.0.0.3…, each through a relay whose upstream connection leaves from that
// address, so the registry sees several callers, none of them the downloaders' 127.0.0.1), one
// connection per address, calls pipelined on it at a steady pace. The generator bounds its own
// work: at most `maxOutstanding` calls wait for an answer, each with a deadline.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { BotConnection, grpcStatusName, type RegisterDownloaderRequest } from '@dwld/contract';

export interface FloodCall {
  request: RegisterDownloaderRequest;
  /** Sent as a bearer token when set. */
  token?: string;
}

export interface FloodOptions {
  /** The registry's gRPC port on 127.0.0.1. */
  registryPort: number;
  calls: number;
  seconds: number;
  /** How many addresses the flood comes from (127.0.0.2 onwards), one connection each. */
  addresses: number;
  /** The i-th call. */
  call: (i: number) => FloodCall;
  deadlineMs?: number;
  maxOutstanding?: number;
}

export interface FloodReport {
  sent: number;
  /** Answers by gRPC status name (`OK`, `RESOURCE_EXHAUSTED`…). */
  answers: Record<string, number>;
  /** From the first call to the last answer. */
  elapsedMs: number;
}

/** A TCP relay to 127.0.0.1:`port` whose upstream connections leave from `localAddress`. */
async function startRelay(port: number, localAddress: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port, localAddress });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sends the flood and resolves once every call has been answered (or has passed its deadline). */
export async function flood(options: FloodOptions): Promise<FloodReport> {
  const relays = await Promise.all(Array.from({ length: options.addresses }, (_, i) => startRelay(options.registryPort, `127.0.0.${i + 2}`)));
  const connections = relays.map((relay) => new BotConnection(`127.0.0.1:${relay.port}`, { ownConnection: true }));
  const answers: Record<string, number> = {};
  const maxOutstanding = options.maxOutstanding ?? 2_000;
  const durationMs = options.seconds * 1000;
  let sent = 0;
  let answered = 0;
  let outstanding = 0;
  const startedAt = Date.now();
  try {
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(options.calls, Math.ceil(((Date.now() - startedAt) / durationMs) * options.calls));
        while (sent < due && outstanding < maxOutstanding) {
          const i = sent++;
          const { request, token } = options.call(i);
          outstanding += 1;
          connections[i % connections.length]!.register(request, { token, deadlineMs: options.deadlineMs ?? 5_000 }).then(
            () => 'OK',
            (err: { code?: number }) => (typeof err.code === 'number' ? grpcStatusName(err.code) : 'ERROR'),
          ).then((code) => {
            answers[code] = (answers[code] ?? 0) + 1;
            outstanding -= 1;
            answered += 1;
            if (answered === options.calls) {
              clearInterval(tick);
              resolve();
            }
          });
        }
      }, 5);
    });
  } finally {
    for (const connection of connections) connection.close();
    await Promise.all(relays.map((relay) => relay.close()));
  }
  return { sent, answers, elapsedMs: Date.now() - startedAt };
}
