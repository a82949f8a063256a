import { createServer, Socket, type Server } from 'node:net';
import { CuttableProxy } from './proxy';
import { waitFor } from './wait';

/** A TCP server that answers every chunk with "echo:<chunk>" and remembers what it got and whether each peer closed. */
async function startEcho(): Promise<{ server: Server; port: number; got: () => string; ended: () => number; connections: () => number }> {
  let got = '';
  let ended = 0;
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.on('data', (chunk) => {
      got += chunk.toString();
      socket.write(`echo:${chunk.toString()}`);
    });
    socket.on('end', () => ended++);
    socket.on('error', () => undefined);
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  return { server, port, got: () => got, ended: () => ended, connections: () => connections };
}

function connect(port: number): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  let received = '';
  let closed = false;
  const socket = new Socket();
  socket.on('data', (chunk) => (received += chunk.toString()));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.connect(port, '127.0.0.1', () => resolve({ socket, received: () => received, closed: () => closed })));
}

describe('CuttableProxy', () => {
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let proxy: CuttableProxy;

  beforeEach(async () => {
    echo = await startEcho();
    proxy = await CuttableProxy.start({ host: '127.0.0.1', port: echo.port });
  });
  afterEach(async () => {
    await proxy.down();
    await new Promise<void>((resolve) => echo.server.close(() => resolve()));
  });

  it('forwards both ways', async () => {
    const client = await connect(proxy.port);
    client.socket.write('one');
    await waitFor(() => client.received() === 'echo:one');
    client.socket.destroy();
  });

  it('holds bytes both ways without closing anything, and delivers them in order when released', async () => {
    const client = await connect(proxy.port);
    client.socket.write('a');
    await waitFor(() => client.received() === 'echo:a');

    proxy.hold();
    client.socket.write('b');
    client.socket.write('c');
    // The proxy has the bytes: the target has not (held, not dropped), and no side was closed.
    await waitFor(() => proxy.heldBytes === 2, { what: 'the proxy to hold what the client sent' });
    expect(echo.got()).toBe('a');
    expect(client.closed()).toBe(false);

    // A connection opened meanwhile is accepted and left waiting: the target does not see it yet.
    const late = await connect(proxy.port);
    late.socket.write('late');
    await waitFor(() => proxy.heldBytes === 6);
    expect(echo.connections()).toBe(1);

    proxy.release();
    await waitFor(() => client.received() === 'echo:aecho:bc' || client.received() === 'echo:aecho:becho:c', { what: 'the held bytes delivered' });
    await waitFor(() => late.received() === 'echo:late', { what: 'the late connection served' });
    expect(proxy.heldBytes).toBe(0);
    client.socket.destroy();
    late.socket.destroy();
  });

  it('delivers what a client sent before it gave up, then its close, as TCP would after a partition heals', async () => {
    const client = await connect(proxy.port);
    client.socket.write('x');
    await waitFor(() => client.received() === 'echo:x');
    proxy.hold();
    client.socket.write('last words');
    await waitFor(() => proxy.heldBytes === 10);
    client.socket.destroy();
    await waitFor(() => client.closed());
    expect(echo.ended()).toBe(0);

    proxy.release();
    await waitFor(() => echo.got() === 'xlast words' && echo.ended() === 1, { what: 'the held bytes, then the end' });
    await waitFor(() => proxy.openSockets === 0, { what: 'every socket closed' });
  });

  it('cuts every connection and refuses new ones until restored', async () => {
    const client = await connect(proxy.port);
    proxy.hold();
    await proxy.down();
    await waitFor(() => client.closed(), { what: 'the client dropped' });
    const refused = await new Promise<string>((resolve) => {
      const socket = new Socket();
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      socket.connect(proxy.port, '127.0.0.1', () => resolve('connected'));
    });
    expect(refused).toBe('ECONNREFUSED');
    expect(proxy.holding).toBe(false);

    await proxy.up();
    const again = await connect(proxy.port);
    again.socket.write('back');
    await waitFor(() => again.received() === 'echo:back');
    again.socket.destroy();
  });
});
