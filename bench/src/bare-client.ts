// Child process (forked for baseline (a)): bare SetToQueue calls with raw grpc-js, round-robin
// over the given servers, `concurrency` in flight. A fresh process for each measurement, as a
// scheduler is its own process: the bench's own heap (grown over the runs) stays out of it.
// argv: ports (comma-separated), n, concurrency. IPC: sends {type:'ready'} once warm, starts on
// {type:'go'}, then sends {type:'done', seconds, cpuMs}.
import * as grpc from '@grpc/grpc-js';
import { DownloaderGrpcClient } from '@dwld/contract';

const URL_BASE = 'https://www.youtube.com/watch?v=';

async function main(): Promise<void> {
  const ports = process.argv[2]!.split(',').map(Number);
  const n = Number(process.argv[3]);
  const concurrency = Number(process.argv[4]);
  const clients = ports.map((p) => new DownloaderGrpcClient(`127.0.0.1:${p}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, Function>);
  const call = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const client = clients[Math.abs(i) % clients.length]!;
      client.SetToQueue!({ link: `${URL_BASE}bare-${i}`, userName: 'bench' }, { deadline: Date.now() + 5000 }, (err: Error | null) => (err ? reject(err) : resolve()));
    });
  // warm the connections
  await Promise.all(clients.map((_, i) => call(-1 - i)));
  await new Promise<void>((resolve) => {
    process.once('message', () => resolve());
    process.send!({ type: 'ready' });
  });
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await call(next++);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  clients.forEach((c) => c.close());
  process.send!({ type: 'done', seconds, cpuMs: (cpu.user + cpu.system) / 1000 }, () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
