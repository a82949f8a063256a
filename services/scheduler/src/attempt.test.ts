import type { DownloaderPort, DownloaderTarget, HandOver, QueuedLink } from '@dwld/contract';
import { DownloaderError } from '@dwld/errors';
import { silentLogger } from '@dwld/logger';
import { Dispatcher } from './attempt';
import { SchedulerMetrics } from './metrics';

// The Dispatcher against a DownloaderPort of its own: it speaks only the port, and asks where
// to call a downloader at the moment of each call.
describe('Dispatcher over a DownloaderPort', () => {
  const request: HandOver = { url: 'https://example.com/v', destination: 'ann', maxQuality: 720 };
  const route = ['a', 'b'].map((name, i) => ({ name, patterns: ['*'], healthy: i === 0 }));
  const go = () => 'go' as const;

  function setUp(behaviour: {
    handOver?: (name: string) => Promise<void>;
    queue?: (name: string) => Promise<QueuedLink[]>;
  }) {
    const log: string[] = [];
    let resolved = 0;
    const name = (target: DownloaderTarget) => (typeof target === 'string' ? target : `${target.name}@${target.address.port}`);
    const downloaders: Pick<DownloaderPort, 'handOver' | 'queue'> = {
      handOver: async (target, handOver) => {
        log.push(`handOver ${name(target)} ${handOver.url}`);
        await behaviour.handOver?.(typeof target === 'string' ? target : target.name);
      },
      queue: async (target) => {
        log.push(`queue ${name(target)}`);
        return (await behaviour.queue?.(typeof target === 'string' ? target : target.name)) ?? [];
      },
    };
    const dispatcher = new Dispatcher({
      downloaders,
      // Each call's own resolution: a new port every time, so the log shows which one a call used.
      target: (downloader) => {
        resolved++;
        log.push(`target ${downloader}`);
        return { name: downloader, address: { host: '127.0.0.1', port: resolved } };
      },
      metrics: new SchedulerMetrics(async () => 0),
      logger: silentLogger(),
      random: () => 0,
    });
    return { dispatcher, log };
  }

  const uncertain = (downloader: string, answerLost: boolean) =>
    new DownloaderError(answerLost ? 'unavailable' : 'internal', downloader, 'handOver', 'no clear answer', { outcomeUncertain: true, answerLost, details: 'UNIQUE constraint failed' });

  it('resolves where to call each downloader right before its call, the next one after a failure included', async () => {
    const { dispatcher, log } = setUp({
      handOver: async (name) => {
        if (name === 'a') throw new DownloaderError('unavailable', 'a', 'handOver', 'down');
      },
    });
    const outcome = await dispatcher.attempt('example.com', request, route, go);
    expect(outcome).toMatchObject({ ok: true, downloader: 'b', failures: [{ downloader: 'a', kind: 'unavailable' }] });
    expect(log).toEqual(['target a', 'handOver a@1 https://example.com/v', 'target b', 'handOver b@2 https://example.com/v']);
  });

  it('reads the queue at an address resolved anew after a hand-over without a clear answer: held, it is handed over', async () => {
    const { dispatcher, log } = setUp({
      handOver: async (name) => {
        throw uncertain(name, false);
      },
      queue: async () => [{ url: request.url, stage: 'held', status: 'NEW' }],
    });
    const outcome = await dispatcher.attempt('example.com', request, route, go);
    expect(outcome).toMatchObject({ ok: true, downloader: 'a', foundInQueue: true });
    expect(log).toEqual(['target a', 'handOver a@1 https://example.com/v', 'target a', 'queue a@2']);
  });

  it('refuses with a DownloaderError in plain words when the queue shows the link finished, and the next downloader takes it', async () => {
    const { dispatcher } = setUp({
      handOver: async (name) => {
        if (name === 'a') throw uncertain(name, false);
      },
      queue: async () => [{ url: request.url, stage: 'finished', status: 'DONE' }],
    });
    const outcome = await dispatcher.attempt('example.com', request, route, go);
    expect(outcome).toMatchObject({ ok: true, downloader: 'b' });
    const [refusal] = outcome.failures;
    expect(refusal).toMatchObject({ downloader: 'a', kind: 'refused', reason: expect.stringContaining('a has downloaded this link already') });
    expect(refusal!.message).toContain('the link is DONE in its queue');
  });

  it('ends the try with the downloader unconfirmed when the answer was lost and the link is not in its queue yet', async () => {
    const { dispatcher, log } = setUp({
      handOver: async (name) => {
        throw uncertain(name, true);
      },
    });
    const outcome = await dispatcher.attempt('example.com', request, route, go);
    expect(outcome).toMatchObject({ ok: false, interrupted: false, failure: { kind: 'unavailable' }, unconfirmed: 'a' });
    expect(log.filter((line) => line.startsWith('handOver'))).toEqual(['handOver a@1 https://example.com/v']);
  });

  it('reads the queue of the downloader marked unconfirmed first, resolved at that read', async () => {
    const { dispatcher, log } = setUp({ queue: async () => [{ url: request.url, stage: 'finished', status: 'DONE' }] });
    const outcome = await dispatcher.attempt('example.com', request, route, go, 'b');
    expect(outcome).toMatchObject({ ok: true, downloader: 'b', foundInQueue: true });
    expect(log).toEqual(['target b', 'queue b@1']);
  });
});
