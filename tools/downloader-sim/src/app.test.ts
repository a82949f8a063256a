import { PassThrough } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { DownloaderCallError, DownloaderClient } from '@dwld/contract';
import { createLogger, silentLogger, type Logger } from '@dwld/logger';
import { freePort, waitFor } from '@dwld/testkit';
import { DownloaderSimApp } from './app';
import { GO_UNIQUE_ERROR } from '@dwld/go-downloader';
import { parseSimConfig } from './config';
import { startFakeRegistry, type FakeRegistry } from './test-support/fake-registry';

/** Log lines (JSON) written by a real logger, to check what is said and how often. */
function capturedLogger(): { logger: Logger; messages: () => string[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const logger = createLogger({ service: 'downloader-sim', level: 'info', json: true, stream });
  return {
    logger,
    messages: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { message: string }).message),
  };
}

const LINK = 'https://www.youtube.com/watch?v=dQw4w9WgXcQ';

/**
 * A response without the synthetic oneof keys (`_name: 'name'`) that @grpc/proto-loader's
 * `oneofs: true` adds for proto3 `optional` fields on the client side.
 */
function wire<T>(value: T): T {
  if (Array.isArray(value)) return value.map(wire) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => !key.startsWith('_')).map(([key, v]) => [key, wire(v)])) as T;
}

describe('simulated downloader (real gRPC and HTTP)', () => {
  let registry: FakeRegistry;
  const apps: DownloaderSimApp[] = [];
  const registries: FakeRegistry[] = [];
  let time: number;

  beforeAll(async () => {
    registry = await startFakeRegistry();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
    await Promise.all(registries.splice(0).map((r) => r.server.stop(0)));
  });
  afterAll(() => registry.server.stop(0));

  async function startSim(env: Record<string, string> = {}, options: { logger?: Logger; registerRetryMs?: number; registryGraceMs?: number } = {}) {
    time = Date.UTC(2030, 0, 1);
    const config = parseSimConfig({
      SIM_NAME: 'sim-test',
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      REGISTRY_ADDRESS: registry.address,
      REGISTER_INTERVAL_S: '3600',
      DOWNLOAD_SECONDS: '10',
      DOWNLOAD_SIZE_MB: '100',
      CONCURRENT_DOWNLOADS: '1',
      ...env,
    });
    const app = new DownloaderSimApp({ config, logger: options.logger ?? silentLogger(), now: () => time, registerRetryMs: options.registerRetryMs, registryGraceMs: options.registryGraceMs });
    apps.push(app);
    const ports = await app.start();
    const client = (deadlineMs = 5000) => new DownloaderClient({ lookup: async () => ({ host: '127.0.0.1', port: ports.grpcPort }), deadlineMs });
    const http = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${ports.httpPort}${path}`, init);
    const postMode = (body: unknown) => http('/mode', { method: 'POST', body: JSON.stringify(body) });
    return { app, ports, client: client(), clientWithDeadline: client, http, postMode };
  }

  async function failureOf(call: Promise<unknown>): Promise<DownloaderCallError> {
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DownloaderCallError);
    return err as DownloaderCallError;
  }

  describe('grpc.v1.Downloader', () => {
    it('queues links, reports progress as time passes, and files them by user and folder', async () => {
      const { client } = await startSim();
      const first = await client.setToQueue('sim', { link: LINK, userName: '[alice] Films', maxQuality: 720 });
      expect(wire(first.linksInWork)).toEqual([{ link: LINK, status: 'downloading', maxQuantity: '720', name: 'dQw4w9WgXcQ.mp4' }]);
      const second = await client.setToQueue('sim', { link: 'https://vimeo.com/42', userName: 'bob' });
      expect(second.linksInWork.map((t) => [t.link, t.status, t.maxQuantity])).toEqual([
        [LINK, 'downloading', '720'],
        ['https://vimeo.com/42', 'queued', 'max'],
      ]);

      time += 4_000;
      const status = await client.status('sim');
      expect(status.linksInWork).toEqual([
        {
          link: LINK,
          filename: 'dQw4w9WgXcQ.mp4',
          moveTo: '/downloads/alice/Films',
          targetQuantity: 720,
          procentage: 40,
          status: 'downloading',
          currentSize: 40 * 1024 * 1024,
          totalSize: 100 * 1024 * 1024,
          message: '',
        },
        expect.objectContaining({ link: 'https://vimeo.com/42', moveTo: '/downloads/bob', procentage: 0, status: 'queued', currentSize: 0, targetQuantity: 0 }),
      ]);
      expect(status.sensors).toMatch(/^cpu \d+°C, disk \d+% free, 1\/1 downloading$/);

      time += 10_000; // the first is done at 10 s, the second has run 4 s
      const later = await client.status('sim');
      expect(later.linksInWork).toEqual([expect.objectContaining({ link: 'https://vimeo.com/42', status: 'downloading', procentage: 40 })]);
      const queue = await client.queue('sim');
      expect(wire(queue.queue)).toEqual([
        { link: LINK, status: 'done', maxQuantity: '720', name: 'dQw4w9WgXcQ.mp4', message: 'saved to /downloads/alice/Films/dQw4w9WgXcQ.mp4' },
        { link: 'https://vimeo.com/42', status: 'downloading', maxQuantity: 'max', name: '42.mp4' },
      ]);
    });

    it('answers a repeated link with the current list instead of queueing it twice', async () => {
      const { app, client } = await startSim();
      await client.setToQueue('sim', { link: LINK, userName: 'alice' });
      const again = await client.setToQueue('sim', { link: LINK, userName: 'alice' });
      expect(again.linksInWork.map((t) => t.link)).toEqual([LINK]);
      expect(app.received().map((r) => r.outcome)).toEqual(['queued', 'duplicate']);
    });

    it('refuses a link that is not an http(s) URL', async () => {
      const { client } = await startSim();
      for (const link of ['', 'ftp://example.com/file', 'not a link']) {
        const err = await failureOf(client.setToQueue('sim', { link, userName: 'alice' }));
        expect(err).toMatchObject({ failure: 'refused', code: grpc.status.INVALID_ARGUMENT });
      }
      expect((await client.queue('sim')).queue).toEqual([]);
    });

    it('deletes a link wherever it is and returns what is left', async () => {
      const { client } = await startSim({ CONCURRENT_DOWNLOADS: '1' });
      for (const n of [1, 2, 3]) await client.setToQueue('sim', { link: `https://example.com/${n}`, userName: 'u' });
      expect((await client.deleteFromQueue('sim', 'https://example.com/2')).linksInWork.map((t) => t.link)).toEqual(['https://example.com/1', 'https://example.com/3']);
      expect((await client.deleteFromQueue('sim', 'https://example.com/1')).linksInWork).toEqual([expect.objectContaining({ link: 'https://example.com/3', status: 'downloading' })]);
      expect((await client.deleteFromQueue('sim', 'https://example.com/404')).linksInWork.map((t) => t.link)).toEqual(['https://example.com/3']);
      expect(await failureOf(client.deleteFromQueue('sim', ''))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    });

    it('cleans the history and returns what it cleaned', async () => {
      const { client } = await startSim({ CONCURRENT_DOWNLOADS: '2' });
      await client.setToQueue('sim', { link: 'https://example.com/a', userName: 'u' });
      time += 10_000;
      await client.setToQueue('sim', { link: 'https://example.com/b', userName: 'u' });
      const cleaned = await client.cleanHistory('sim');
      expect(cleaned.history).toEqual([expect.objectContaining({ link: 'https://example.com/a', status: 'done' })]);
      expect((await client.cleanHistory('sim')).history).toEqual([]);
      expect((await client.queue('sim')).queue.map((t) => t.link)).toEqual(['https://example.com/b']);
    });

    it('answers Healtheck with its name', async () => {
      const { client } = await startSim({ SIM_NAME: 'nas-7' });
      expect(wire(await client.healtheck('sim'))).toEqual({ message: 'ok nas-7' });
    });

    it('records every SetToQueue call in order, keeping an absent maxQuality absent', async () => {
      const { client, http } = await startSim();
      await client.setToQueue('sim', { link: LINK, userName: '[alice] Films', maxQuality: 1080 });
      time += 1_000;
      await client.setToQueue('sim', { link: 'https://vimeo.com/1', userName: 'bob' });
      const body = (await (await http('/received')).json()) as { received: unknown[] };
      expect(body.received).toEqual([
        { at: '2030-01-01T00:00:00.000Z', link: LINK, userName: '[alice] Films', maxQuality: 1080, outcome: 'queued' },
        { at: '2030-01-01T00:00:01.000Z', link: 'https://vimeo.com/1', userName: 'bob', outcome: 'queued' },
      ]);
    });
  });

  describe('modes', () => {
    it('fail: acts as down — SetToQueue, Healtheck and the rest answer UNAVAILABLE — until set back to ok', async () => {
      const { app, client, postMode } = await startSim();
      const response = await postMode({ mode: 'fail' });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ mode: 'fail' });
      for (const call of [client.setToQueue('sim', { link: LINK, userName: 'u' }), client.healtheck('sim'), client.status('sim'), client.queue('sim')]) {
        expect(await failureOf(call)).toMatchObject({ failure: 'unavailable', code: grpc.status.UNAVAILABLE });
      }
      app.setMode('ok');
      expect((await client.setToQueue('sim', { link: LINK, userName: 'u' })).linksInWork).toHaveLength(1);
      expect(app.received().map((r) => r.outcome)).toEqual(['failed', 'queued']);
    });

    it('refuse: SetToQueue answers INVALID_ARGUMENT with the reason; other rpcs work', async () => {
      const { client, postMode } = await startSim();
      await postMode({ mode: 'refuse', message: 'this site is not supported' });
      const err = await failureOf(client.setToQueue('sim', { link: LINK, userName: 'u' }));
      expect(err).toMatchObject({ failure: 'refused', code: grpc.status.INVALID_ARGUMENT });
      expect(err.message).toContain('this site is not supported');
      expect(wire(await client.healtheck('sim'))).toEqual({ message: 'ok sim-test' });
      await postMode({ mode: 'refuse' });
      expect((await failureOf(client.setToQueue('sim', { link: LINK, userName: 'u' }))).message).toContain('refuses this link');
    });

    it("hang: SetToQueue never answers, so the caller's deadline expires; Healtheck still answers", async () => {
      const { app, clientWithDeadline, client } = await startSim({ MODE: 'hang' });
      const err = await failureOf(clientWithDeadline(200).setToQueue('sim', { link: LINK, userName: 'u' }));
      expect(err).toMatchObject({ failure: 'unavailable', code: grpc.status.DEADLINE_EXCEEDED });
      expect(wire(await client.healtheck('sim'))).toEqual({ message: 'ok sim-test' });
      expect(app.received().map((r) => r.outcome)).toEqual(['hung']);
      expect((await client.queue('sim')).queue).toEqual([]);
    });

    it('count: the mode covers only the next n SetToQueue calls, then ok again; Healtheck stays healthy', async () => {
      const { app, client, postMode } = await startSim();
      expect(await (await postMode({ mode: 'fail', count: 2 })).json()).toEqual({ mode: 'ok', override: { mode: 'fail', remaining: 2 } });
      expect(wire(await client.healtheck('sim'))).toEqual({ message: 'ok sim-test' });
      const outcomes: string[] = [];
      for (const n of [1, 2, 3]) {
        outcomes.push(
          await client.setToQueue('sim', { link: `https://example.com/${n}`, userName: 'u' }).then(
            () => 'ok',
            (e: DownloaderCallError) => grpc.status[e.code!]!,
          ),
        );
      }
      expect(outcomes).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'ok']);
      expect(app.mode()).toEqual({ mode: 'ok' });

      app.setMode('refuse', 1);
      expect(await failureOf(client.setToQueue('sim', { link: LINK, userName: 'u' }))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
      expect((await client.setToQueue('sim', { link: LINK, userName: 'u' })).linksInWork.map((t) => t.link)).toContain(LINK);
    });

    it('cut: SetToQueue takes the link, then the connection drops before the answer leaves; the next call connects afresh', async () => {
      const { app, client, postMode } = await startSim();
      expect((await postMode({ mode: 'cut', count: 1 })).status).toBe(200);
      const err = await failureOf(client.setToQueue('sim', { link: LINK, userName: 'u' }));
      // A dropped connection, as the transport reports it: no status the sim chose.
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(err.message).toMatch(/Connection dropped|ECONNRESET/);
      expect((await client.queue('sim')).queue.map((t) => t.link)).toEqual([LINK]);
      expect(app.received()).toEqual([expect.objectContaining({ link: LINK, outcome: 'queued', reply: 'cut' })]);
      // The count is used up: the next answer arrives.
      expect((await client.setToQueue('sim', { link: `${LINK}&2`, userName: 'u' })).linksInWork).toHaveLength(2);
      expect(app.received()[1]).not.toHaveProperty('reply');
    });

    it("late: SetToQueue takes the link at once and answers after LATE_REPLY_S, past the caller's deadline", async () => {
      const { app, client, clientWithDeadline } = await startSim({ MODE: 'late', LATE_REPLY_S: '1' });
      const err = await failureOf(clientWithDeadline(200).setToQueue('sim', { link: LINK, userName: 'u' }));
      expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      // In the queue already, while its answer is still held.
      expect((await client.queue('sim')).queue.map((t) => t.link)).toEqual([LINK]);
      expect(app.received()).toEqual([expect.objectContaining({ link: LINK, outcome: 'queued', reply: 'late' })]);
      // A caller that waits long enough gets the answer.
      expect((await client.setToQueue('sim', { link: `${LINK}&2`, userName: 'u' })).linksInWork).toHaveLength(2);
    });

    it('stopping sends the answers late mode holds', async () => {
      const { app, client } = await startSim({ MODE: 'late', LATE_REPLY_S: '3600' });
      const held = client.setToQueue('sim', { link: LINK, userName: 'u' });
      await waitFor(() => app.received().length === 1, { what: 'the call to arrive' });
      await app.stop();
      expect((await held).linksInWork.map((t) => t.link)).toEqual([LINK]);
    });

    it('stopping answers calls held by hang mode', async () => {
      const { app, client } = await startSim({ MODE: 'hang' });
      const held = failureOf(client.setToQueue('sim', { link: LINK, userName: 'u' }));
      await waitFor(() => app.received().length === 1, { what: 'the call to arrive' });
      await app.stop();
      expect(await held).toMatchObject({ code: grpc.status.UNAVAILABLE });
    });
  });

  describe('control endpoints', () => {
    it('rejects a malformed POST /mode with 400 and a reason', async () => {
      const { http, postMode } = await startSim();
      const cases: Array<[unknown, RegExp]> = [
        [{ mode: 'explode' }, /mode must be one of ok, fail, refuse, hang/],
        [{ mode: 'fail', count: 0 }, /count must be at least 1/],
        [{ mode: 'fail', count: 1.5 }, /count must be a whole number/],
        [{ mode: 'fail', count: '2' }, /count must be a number/],
        [{ mode: 'fail', extra: true }, /extra/],
      ];
      for (const [body, reason] of cases) {
        const response = await postMode(body);
        expect(response.status).toBe(400);
        expect(((await response.json()) as { error: string }).error).toMatch(reason);
      }
      const notJson = await http('/mode', { method: 'POST', body: 'fail' });
      expect(notJson.status).toBe(400);
      const tooBig = await http('/mode', { method: 'POST', body: JSON.stringify({ mode: 'ok', message: 'x'.repeat(5000) }) });
      expect(tooBig.status).toBe(413);
      expect(await (await http('/mode')).json()).toEqual({ mode: 'ok' });
    });

    it('POST /reset forgets received calls and downloads and puts the configured mode back', async () => {
      const { app, client, http, postMode } = await startSim({ MODE: 'refuse' });
      await postMode({ mode: 'ok' });
      await client.setToQueue('sim', { link: LINK, userName: 'u' });
      const response = await http('/reset', { method: 'POST' });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'reset', mode: 'refuse' });
      expect(app.received()).toEqual([]);
      app.setMode('ok');
      expect((await client.queue('sim')).queue).toEqual([]);
    });

    it('serves /healthz, /readyz and /metrics', async () => {
      const { client, http } = await startSim();
      await client.setToQueue('sim', { link: LINK, userName: 'u' });
      expect((await http('/healthz')).status).toBe(200);
      expect(await (await http('/readyz')).json()).toEqual({ status: 'ready', checks: { grpc: 'ok' } });
      const metrics = await (await http('/metrics')).text();
      expect(metrics).toMatch(/dwld_sim_set_to_queue_total\{outcome="queued",service="downloader-sim"\} 1/);
      expect(metrics).toMatch(/dwld_sim_downloads\{status="downloading",service="downloader-sim"\} 1/);
    });
  });

  describe('registration', () => {
    it('registers at start with its name, patterns, advertised host and bound port, without a token by default', async () => {
      const own = await startFakeRegistry();
      registries.push(own);
      const { app, ports } = await startSim({ REGISTRY_ADDRESS: own.address, SIM_NAME: 'video', PATTERNS: 'youtube.com,vimeo.com', ADVERTISE_HOST: 'localhost' });
      await waitFor(() => app.registrationState() === 'registered', { what: 'registration' });
      expect(own.calls).toEqual([
        { request: { serverName: 'video', allowedRootLinks: ['youtube.com', 'vimeo.com'], serverHost: 'localhost', serverPort: ports.grpcPort }, authorization: undefined },
      ]);
    });

    it('sends the registration token when configured', async () => {
      const own = await startFakeRegistry();
      registries.push(own);
      const { app } = await startSim({ REGISTRY_ADDRESS: own.address, REGISTRATION_TOKEN: 'sixteen-chars-token' });
      await waitFor(() => app.registrationState() === 'registered', { what: 'registration' });
      expect(own.calls.map((c) => c.authorization)).toEqual(['Bearer sixteen-chars-token']);
    });

    it('retries with backoff while the registry answers UNAVAILABLE, logging the failure once, then registers', async () => {
      const own = await startFakeRegistry({ failNext: 3 });
      registries.push(own);
      const { logger, messages } = capturedLogger();
      // No grace: the failures at start are warned about (once).
      const { app } = await startSim({ REGISTRY_ADDRESS: own.address }, { logger, registerRetryMs: 10, registryGraceMs: 0 });
      await waitFor(() => app.registrationState() === 'registered', { what: 'registration after retries' });
      expect(own.calls).toHaveLength(4);
      expect(messages().filter((m) => m.startsWith('cannot register'))).toHaveLength(1);
      expect(messages().filter((m) => m === 'registered with the registry')).toHaveLength(1);
    });

    it('keeps trying while nothing listens at the registry address, and registers once it is up', async () => {
      const port = await freePort();
      const { app, ports } = await startSim({ REGISTRY_ADDRESS: `127.0.0.1:${port}` }, { registerRetryMs: 10 });
      await waitFor(() => app.registrationState() === 'UNAVAILABLE', { what: 'a failed attempt' });
      const late = await startFakeRegistry({ port });
      registries.push(late);
      await waitFor(() => app.registrationState() === 'registered', { what: 'registration once the registry is up' });
      expect(late.calls[0]!.request.serverPort).toBe(ports.grpcPort);
    });

    it('says nothing above debug while the registry is still starting, and registers once it listens', async () => {
      const port = await freePort();
      const { logger, messages } = capturedLogger();
      const { app } = await startSim({ REGISTRY_ADDRESS: `127.0.0.1:${port}` }, { logger, registerRetryMs: 10, registryGraceMs: 60_000 });
      await waitFor(() => app.registrationState() === 'UNAVAILABLE', { what: 'a refused attempt' });
      const late = await startFakeRegistry({ port });
      registries.push(late);
      await waitFor(() => app.registrationState() === 'registered', { what: 'registration once the registry is up' });
      expect(messages().filter((m) => /regist/.test(m))).toEqual(['registered with the registry']);
    });

    it('warns once when the registry is still unreachable after the grace period', async () => {
      const port = await freePort();
      const { logger, messages } = capturedLogger();
      const graceMs = 700;
      const startedAt = Date.now();
      const { app } = await startSim({ REGISTRY_ADDRESS: `127.0.0.1:${port}` }, { logger, registerRetryMs: 10, registryGraceMs: graceMs });
      await waitFor(() => app.registrationState() === 'UNAVAILABLE', { what: 'a refused attempt' });
      expect(messages().filter((m) => m.startsWith('cannot register'))).toEqual([]);
      await waitFor(() => messages().some((m) => m.startsWith('cannot register')), { what: 'the warning', timeout: 10_000 });
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(graceMs);
      // Later failures are not warned about again (the attempts go on: retries double from 10 ms).
      const attempts = async () => Number(/dwld_sim_registrations_total\{outcome="failed"[^}]*\} (\d+)/.exec(await app.metrics.metrics())?.[1] ?? 0);
      const seen = await attempts();
      await waitFor(async () => (await attempts()) > seen, { what: 'another failed attempt', timeout: 10_000 });
      expect(messages().filter((m) => m.startsWith('cannot register'))).toHaveLength(1);
    });

    it('does not re-register while acting as down (fail), and registers at once when back', async () => {
      const own = await startFakeRegistry();
      registries.push(own);
      const { app, postMode } = await startSim({ REGISTRY_ADDRESS: own.address });
      await waitFor(() => app.registrationState() === 'registered', { what: 'the first registration' });
      await postMode({ mode: 'fail' });
      await app.registerNow();
      expect(own.calls).toHaveLength(1);
      app.setMode('ok'); // starts registering at once…
      await app.registerNow(); // …so this joins the attempt in flight
      expect(own.calls).toHaveLength(2);
      app.setMode('fail', 3);
      // A counted fail only covers SetToQueue: the downloader is not down, so it registers.
      await app.registerNow();
      expect(own.calls).toHaveLength(3);
    });

    it('re-registers every REGISTER_INTERVAL_S, logging success only once, and stops re-registering on stop', async () => {
      const own = await startFakeRegistry();
      registries.push(own);
      const { logger, messages } = capturedLogger();
      const { app, ports } = await startSim({ REGISTRY_ADDRESS: own.address, REGISTER_INTERVAL_S: '0.05' }, { logger });
      await waitFor(() => own.calls.length >= 3, { what: 'three registrations' });
      expect(new Set(own.calls.map((c) => c.request.serverPort))).toEqual(new Set([ports.grpcPort]));
      expect(messages().filter((m) => m === 'registered with the registry')).toHaveLength(1);
      await app.stop();
      const count = own.calls.length;
      // Once stopped it no longer serves, so it does not announce itself even when asked.
      await app.registerNow();
      expect(own.calls).toHaveLength(count);
    });
  });

  describe('FLAVOUR=go (as the deployed Go downloader)', () => {
    it('registers once, with the raw ASSIGN split, an empty host and no token, and never again', async () => {
      const own = await startFakeRegistry();
      registries.push(own);
      const { app, ports } = await startSim({ FLAVOUR: 'go', REGISTRY_ADDRESS: own.address, SIM_NAME: 'Unona', ASSIGN: 'youtube.com, rutube.ru,', REGISTRATION_TOKEN: 'sixteen-chars-token', REGISTER_INTERVAL_S: '0.05' });
      await waitFor(() => app.registrationState() === 'registered', { what: 'the registration' });
      expect(own.calls).toEqual([
        { request: { serverName: 'Unona', allowedRootLinks: ['youtube.com', ' rutube.ru', ''], serverHost: '', serverPort: ports.grpcPort }, authorization: undefined },
      ]);
      // REGISTER_INTERVAL_S does not apply: the registry hears from it again only if it is restarted (registerNow).
      await app.registerNow();
      expect(own.calls).toHaveLength(2);
    });

    it('does not retry a failed registration', async () => {
      const own = await startFakeRegistry({ failNext: 1 });
      registries.push(own);
      const { logger, messages } = capturedLogger();
      const { app } = await startSim({ FLAVOUR: 'go', REGISTRY_ADDRESS: own.address, ADVERTISE_HOST: '0.0.0.0' }, { logger, registerRetryMs: 10 });
      await waitFor(() => app.registrationState() === 'UNAVAILABLE', { what: 'the failed registration' });
      expect(own.calls.map((c) => c.request.serverHost)).toEqual(['0.0.0.0']);
      expect(messages()).toContain('registration failed; as a Go downloader it will not try again');
      await app.stop();
      expect(own.calls).toHaveLength(1);
    });

    it('answers as the Go one: NEW rows, UNKNOWN for a link it holds, Healtheck OK; refuse and hang map to what it can do', async () => {
      const { app, client, postMode } = await startSim({ FLAVOUR: 'go' });
      expect(wire((await client.setToQueue('sim', { link: LINK, userName: 'u', maxQuality: 1080 })).linksInWork)).toEqual([{ link: LINK, status: 'NEW', maxQuantity: '1080', name: 'COMING SOON' }]);
      const duplicate = await failureOf(client.setToQueue('sim', { link: LINK, userName: 'u' }));
      expect(duplicate.code).toBe(grpc.status.UNKNOWN);
      expect(duplicate.details).toBe(GO_UNIQUE_ERROR);
      expect((await client.healtheck('sim')).message).toBe('OK');

      expect((await postMode({ mode: 'fail' })).status).toBe(400);
      expect((await postMode({ mode: 'refuse', count: 1, message: 'disk full' })).status).toBe(200);
      const refused = await failureOf(client.setToQueue('sim', { link: `${LINK}&2`, userName: 'u' }));
      expect(refused).toMatchObject({ code: grpc.status.UNKNOWN, details: 'disk full' });
      await client.setToQueue('sim', { link: `${LINK}&3`, userName: 'u' });
      expect(app.received().map((r) => r.outcome)).toEqual(['queued', 'duplicate', 'refused', 'queued']);
    });

    it('as the Go one, cut and late happen to its answers on the way: the link is in its table, the caller gets no answer', async () => {
      const { app, client, clientWithDeadline, postMode } = await startSim({ FLAVOUR: 'go', LATE_REPLY_S: '1' });
      expect((await postMode({ mode: 'cut', count: 1 })).status).toBe(200);
      expect((await failureOf(client.setToQueue('sim', { link: LINK, userName: 'u' }))).code).toBe(grpc.status.UNAVAILABLE);
      app.setMode('late', 1);
      expect((await failureOf(clientWithDeadline(200).setToQueue('sim', { link: `${LINK}&2`, userName: 'u' }))).code).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect((await client.queue('sim')).queue.map((t) => [t.link, t.status])).toEqual([[LINK, 'NEW'], [`${LINK}&2`, 'NEW']]);
      // The same link again: the Go one's own answer, UNKNOWN, now that nothing goes astray.
      expect((await failureOf(client.setToQueue('sim', { link: LINK, userName: 'u' }))).code).toBe(grpc.status.UNKNOWN);
      expect(app.received().map((r) => [r.outcome, r.reply])).toEqual([['queued', 'cut'], ['queued', 'late'], ['duplicate', undefined]]);
    });
  });
});
