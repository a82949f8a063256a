import { createServer, Socket, type Server } from 'node:net';

/** Each way's bytes, and the end of that way once the side that sent them has closed. */
type Held = Buffer | 'end';

interface ProxyState {
  holding: boolean;
  target: { host: string; port: number };
  sockets: Set<Socket>;
  /** Told when a socket of a link closes (the link may be finished). */
  closed(link: Link): void;
}

/**
 * One client connection and its connection to the target. While the proxy holds, what either
 * side sends waits here, in order (a close included); released, it is delivered as TCP
 * delivers what was in flight when a partition heals.
 */
class Link {
  private upstream: Socket | undefined;
  private readonly toTarget: Held[] = [];
  private readonly toClient: Held[] = [];

  constructor(
    private readonly client: Socket,
    private readonly proxy: ProxyState,
  ) {
    client.on('data', (chunk: Buffer) => this.send(this.toTarget, chunk));
    client.on('close', () => this.send(this.toTarget, 'end'));
    this.track(client);
    if (!proxy.holding) this.connect();
  }

  /** Delivers what was held, and from now on everything as it comes. */
  flush(): void {
    if (this.proxy.holding) return;
    if (!this.upstream) {
      // Opened during the hold: reaches the target only now, unless its client gave up meanwhile.
      if (this.toTarget.at(-1) === 'end') return;
      this.connect();
    }
    this.deliver(this.toTarget, this.upstream!);
    this.deliver(this.toClient, this.client);
  }

  /** Whether its client is still connected. */
  get clientOpen(): boolean {
    return !this.client.destroyed;
  }

  /** Bytes waiting to be delivered, both ways. */
  get held(): number {
    return [...this.toTarget, ...this.toClient].reduce((sum, next) => sum + (next === 'end' ? 0 : next.length), 0);
  }

  /** Both sides closed, and nothing held is left to deliver. */
  get finished(): boolean {
    if (!this.client.destroyed) return false;
    return this.upstream ? this.upstream.destroyed : this.toTarget.length === 0 || this.toTarget.at(-1) === 'end';
  }

  destroy(): void {
    this.client.destroy();
    this.upstream?.destroy();
  }

  private connect(): void {
    const upstream = new Socket();
    this.upstream = upstream;
    upstream.on('data', (chunk: Buffer) => this.send(this.toClient, chunk));
    upstream.on('close', () => this.send(this.toClient, 'end'));
    this.track(upstream);
    upstream.connect(this.proxy.target.port, this.proxy.target.host);
  }

  private send(queue: Held[], what: Held): void {
    queue.push(what);
    this.flush();
  }

  private deliver(queue: Held[], to: Socket): void {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      if (next === 'end') {
        to.end();
        queue.length = 0;
        return;
      }
      if (!to.destroyed) to.write(next);
    }
  }

  private track(socket: Socket): void {
    this.proxy.sockets.add(socket);
    socket.on('close', () => {
      this.proxy.sockets.delete(socket);
      this.proxy.closed(this);
    });
    socket.on('error', () => undefined);
  }
}

/**
 * A TCP proxy (to PostgreSQL, say) that a test can break and mend on the same port, without
 * touching the real server: cut (every connection dropped, new ones refused: an outage the
 * clients hear of) or hold (every connection kept open, nothing forwarded either way, new ones
 * accepted and left waiting: a silent network partition, which clients only notice by their
 * own timeouts).
 */
export class CuttableProxy {
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private readonly state: ProxyState;

  private constructor(
    readonly port: number,
    target: { host: string; port: number },
  ) {
    this.state = { holding: false, target, sockets: new Set(), closed: (link) => link.finished && this.links.delete(link) };
  }

  static async start(target: { host: string; port: number }): Promise<CuttableProxy> {
    const probe = createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const proxy = new CuttableProxy(port, target);
    await proxy.up();
    return proxy;
  }

  /** Whether it is holding bytes now. */
  get holding(): boolean {
    return this.state.holding;
  }

  /** Open connections, both sides counted (a client and its link to the target are two). */
  get openSockets(): number {
    return this.state.sockets.size;
  }

  /** Clients connected to the proxy now. */
  get openClients(): number {
    return [...this.links].filter((link) => link.clientOpen).length;
  }

  /** Bytes held now, both ways (a test waits for these rather than sleeping). */
  get heldBytes(): number {
    return [...this.links].reduce((sum, link) => sum + link.held, 0);
  }

  async up(): Promise<void> {
    const server = createServer((client) => this.links.add(new Link(client, this.state)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.state.holding = false;
    for (const link of this.links) link.destroy();
    this.links.clear();
    for (const socket of this.state.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Stops forwarding, both ways, without closing anything. */
  hold(): void {
    this.state.holding = true;
  }

  /** Forwards what was held, in order, and carries on. */
  release(): void {
    this.state.holding = false;
    for (const link of this.links) link.flush();
  }

  urlFor(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }
}
