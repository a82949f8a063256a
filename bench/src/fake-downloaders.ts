// Child process (forked by the pipeline scenario): N downloader gRPC servers that answer at once
// and count SetToQueue calls per link. IPC: sends {type:'ready', ports}; answers {type:'report'}
// with {type:'report', calls, distinct, duplicates}; {type:'reset'} clears the counts.
import { serveDownloader, type RunningServer } from '@dwld/contract';

const count = Number(process.argv[2] ?? 4);
const calls = new Map<string, number>();
let total = 0;

async function main(): Promise<void> {
  const servers: RunningServer[] = [];
  for (let i = 0; i < count; i++) {
    servers.push(
      await serveDownloader({
        SetToQueue: async (request) => {
          total++;
          calls.set(request.link, (calls.get(request.link) ?? 0) + 1);
          return { linksInWork: [] };
        },
        DeleteFromQueue: async () => ({ linksInWork: [] }),
        CleanHistory: async () => ({ history: [] }),
        Status: async () => ({ linksInWork: [], sensors: '' }),
        Queue: async () => ({ queue: [] }),
        Healtheck: async () => ({ message: 'ok' }),
      }),
    );
  }
  process.on('message', (message: { type: string }) => {
    if (message.type === 'reset') {
      calls.clear();
      total = 0;
      process.send!({ type: 'reset' });
    } else if (message.type === 'report') {
      let duplicates = 0;
      for (const n of calls.values()) if (n > 1) duplicates += n - 1;
      process.send!({ type: 'report', calls: total, distinct: calls.size, duplicates });
    } else if (message.type === 'stop') {
      void Promise.all(servers.map((s) => s.stop(500))).then(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ type: 'ready', ports: servers.map((s) => s.port) });
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
