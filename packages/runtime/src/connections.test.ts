import { spawn, type ChildProcess } from 'node:child_process';
import { connect as connectTcp } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLogger } from '@dwld/logger';
import { freePort, waitFor } from '@dwld/testkit';
import { EVICTING_REDIS_EXIT_CODE, openRedis, readEvictionPolicy, refuseEvictingRedis } from './connections';

/** A redis-server of this test's own, started with `args` (no persistence). */
async function startRedis(args: string[], port?: number): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  const chosen = port ?? (await freePort());
  const server: ChildProcess = spawn('redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${chosen}`;
  // A plain socket, not an ioredis probe (a refused lazy ioredis connection keeps the test process alive).
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connectTcp(chosen, '127.0.0.1');
        socket.once('data', (reply) => {
          socket.destroy();
          resolve(reply.toString().startsWith('+PONG'));
        });
        socket.once('error', () => resolve(false));
        socket.write('PING\r\n');
      }),
    { what: 'redis-server to answer', timeout: 10_000 },
  );
  return {
    url,
    port: chosen,
    stop: async () => {
      if (server.exitCode !== null) return;
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    },
  };
}

/** A logger whose lines the test reads. */
function capturingLogger() {
  const lines: Array<{ level: string; message: string; maxmemoryPolicy?: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ service: 'test', level: 'debug', json: true, stream });
  return { logger, lines, said: (level: string) => lines.filter((l) => l.level === level) };
}

describe("Redis's maxmemory-policy (a real redis-server of the test's own)", () => {
  const stops: Array<() => Promise<void>> = [];
  const connections: Redis[] = [];
  const connect = (url: string) => {
    const redis = new Redis(url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    connections.push(redis);
    return redis;
  };
  afterEach(async () => {
    for (const redis of connections.splice(0)) redis.disconnect();
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });

  it('reads the policy, from INFO when CONFIG is renamed away', async () => {
    const plain = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
    stops.push(plain.stop);
    expect(await readEvictionPolicy(connect(plain.url))).toBe('allkeys-lru');

    const locked = await startRedis(['--maxmemory-policy', 'volatile-ttl', '--rename-command', 'CONFIG', '""']);
    stops.push(locked.stop);
    const redis = connect(locked.url);
    await expect(redis.call('CONFIG', 'GET', 'maxmemory-policy')).rejects.toThrow(/unknown command/i);
    expect(await readEvictionPolicy(redis)).toBe('volatile-ttl');
  });

  it('refuses an evicting Redis with one error line and exit code 78', async () => {
    const server = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
    stops.push(server.stop);
    const { logger, said } = capturingLogger();
    const exits: number[] = [];
    await refuseEvictingRedis(connect(server.url), { allowEviction: false, logger, exit: (code) => exits.push(code) });
    expect(exits).toEqual([EVICTING_REDIS_EXIT_CODE]);
    expect(said('error')).toEqual([expect.objectContaining({ message: expect.stringMatching(/^refusing to run: Redis maxmemory-policy is allkeys-lru.*noeviction.*REDIS_ALLOW_EVICTION=true/), maxmemoryPolicy: 'allkeys-lru' })]);
  });

  it('counts a volatile-* policy as evicting too (it drops keys with a TTL)', async () => {
    const server = await startRedis(['--maxmemory-policy', 'volatile-lru']);
    stops.push(server.stop);
    const exits: number[] = [];
    await refuseEvictingRedis(connect(server.url), { allowEviction: false, logger: capturingLogger().logger, exit: (code) => exits.push(code) });
    expect(exits).toEqual([EVICTING_REDIS_EXIT_CODE]);
  });

  it('runs with an evicting Redis when told to, saying so once', async () => {
    const server = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
    stops.push(server.stop);
    const { logger, said } = capturingLogger();
    const exits: number[] = [];
    await refuseEvictingRedis(connect(server.url), { allowEviction: true, logger, exit: (code) => exits.push(code) });
    expect(exits).toEqual([]);
    expect(said('warn')).toEqual([expect.objectContaining({ message: 'Redis may evict keys; running anyway (REDIS_ALLOW_EVICTION)', maxmemoryPolicy: 'allkeys-lru' })]);
    expect(said('error')).toEqual([]);
  });

  it('runs quietly against noeviction', async () => {
    const server = await startRedis(['--maxmemory-policy', 'noeviction']);
    stops.push(server.stop);
    const { logger, lines } = capturingLogger();
    const exits: number[] = [];
    await refuseEvictingRedis(connect(server.url), { allowEviction: false, logger, exit: (code) => exits.push(code) });
    expect(exits).toEqual([]);
    expect(lines.filter((l) => l.level !== 'debug')).toEqual([]);
  });

  it('checks a Redis that was down at start when it comes, and one restarted with another policy', async () => {
    const port = await freePort();
    const { logger, said } = capturingLogger();
    const exits: number[] = [];
    const redis = openRedis(`redis://127.0.0.1:${port}`, logger, { retryStrategy: () => 50 });
    connections.push(redis);
    await refuseEvictingRedis(redis, { allowEviction: false, logger, exit: (code) => exits.push(code) });
    expect(exits).toEqual([]);

    const fine = await startRedis(['--maxmemory-policy', 'noeviction'], port);
    await waitFor(() => redis.status === 'ready', { what: 'the connection to come up' });
    await fine.stop();
    const evicting = await startRedis(['--maxmemory-policy', 'allkeys-random'], port);
    stops.push(evicting.stop);
    await waitFor(() => exits.length > 0, { what: 'the refusal once Redis is back evicting' });
    expect(exits).toEqual([EVICTING_REDIS_EXIT_CODE]);
    expect(said('error')).toHaveLength(1);
  });
});
