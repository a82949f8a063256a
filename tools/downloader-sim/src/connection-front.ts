import { createServer, Socket, type Server } from 'node:net';

interface Relayed {
  client: Socket;
  upstream: Socket;
}

/**
 * The sim's gRPC port as callers see it: a TCP relay in front of the gRPC server, so that its
 * connections can be cut as a network cuts them (the caller sees the connection reset, not a
 * status the server chose). Bytes pass through untouched.
 */
export class ConnectionFront {
  private readonly connections = new Set<Relayed>();
  private readonly server: Server;
  private boundPort = 0;

  constructor(private readonly targetPort: number) {
    this.server = createServer((client) => this.relay(client));
  }

  /** Listens on host:port (0: any free port); resolves with the bound port. */
  async start(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    this.boundPort = (this.server.address() as { port: number }).port;
    return this.boundPort;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Open connections now. */
  get open(): number {
    return this.connections.size;
  }

  /** Resets every open connection (as a dropped network path shows); new ones are accepted. Returns how many. */
  cutAll(): number {
    const cut = [...this.connections];
    this.connections.clear();
    for (const { client, upstream } of cut) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    return cut.length;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.cutAll();
    await closed;
  }

  private relay(client: Socket): void {
    const upstream = new Socket();
    const pair: Relayed = { client, upstream };
    this.connections.add(pair);
    for (const socket of [client, upstream]) socket.on('error', () => undefined);
    const close = () => {
      this.connections.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    upstream.connect(this.targetPort, '127.0.0.1');
    client.pipe(upstream).pipe(client);
  }
}
