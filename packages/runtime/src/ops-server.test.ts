import { Agent } from 'node:http';
import { silentLogger } from '@dwld/logger';
import { requestOn } from '@dwld/testkit';
import { Counter, createMetricsRegistry, OpsServer, readBody, sendJson, sendTooLarge } from './index';

describe('OpsServer (real HTTP)', () => {
  let database = true;
  const metrics = createMetricsRegistry('test-service');
  const dispatched = new Counter({ name: 'dwld_test_dispatched_total', help: 'test counter', registers: [metrics] });
  const server = new OpsServer({
    host: '127.0.0.1',
    port: 0,
    metrics,
    logger: silentLogger(),
    checkTimeoutMs: 200,
    readiness: [
      { name: 'database', check: async () => database },
      { name: 'redis', check: async () => undefined },
    ],
  });
  let base = '';
  beforeAll(async () => {
    base = `http://127.0.0.1:${await server.start()}`;
  });
  afterAll(() => server.stop());

  it('answers /healthz while alive', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz 200 when every check passes and 503 naming the failing one otherwise', async () => {
    database = true;
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    database = false;
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'not ready', checks: { database: 'failing', redis: 'ok' } });
    database = true;
  });

  it('shows an informational check in the body without letting it make the service unready', async () => {
    const server = new OpsServer({
      host: '127.0.0.1',
      port: 0,
      metrics,
      logger: silentLogger(),
      readiness: [
        { name: 'database', check: async () => true },
        { name: 'telegram', check: async () => { throw new Error('since 2025-01-01T00:00:00.000Z: HTTP 500'); }, informational: true },
      ],
    });
    expect(await server.readiness()).toEqual({ ready: true, checks: { database: 'ok', telegram: 'failing: since 2025-01-01T00:00:00.000Z: HTTP 500' } });
  });

  it('counts a hanging check as failed instead of hanging', async () => {
    const hanging = new OpsServer({ host: '127.0.0.1', port: 0, metrics, logger: silentLogger(), checkTimeoutMs: 50, readiness: [{ name: 'slow', check: () => new Promise(() => {}) }] });
    expect(await hanging.readiness()).toEqual({ ready: false, checks: { slow: 'timed out' } });
  });

  it('serves Prometheus metrics with the service label', async () => {
    dispatched.inc(3);
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const body = await res.text();
    expect(body).toContain('dwld_test_dispatched_total{service="test-service"} 3');
    expect(body).toContain('process_resident_memory_bytes');
  });

  it('answers 404 and 405 for anything else', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
  });
});

describe('OpsServer routes', () => {
  it('serves extra routes on the same port and still answers 405 for other methods', async () => {
    const server = new OpsServer({
      host: '127.0.0.1',
      port: 0,
      metrics: createMetricsRegistry('routes'),
      logger: silentLogger(),
      readiness: [],
      routes: {
        'POST /echo': async (req, res) => {
          const body = await readBody(req, 10);
          sendJson(res, body ? 200 : 413, { body: body?.toString() ?? null });
        },
      },
    });
    const port = await server.start();
    try {
      const ok = await fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', body: 'hello' });
      expect(await ok.json()).toEqual({ body: 'hello' });
      expect((await fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', body: 'x'.repeat(11) })).status).toBe(413);
      expect((await fetch(`http://127.0.0.1:${port}/other`, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.stop();
    }
  });
});

describe('an oversized body', () => {
  it('is answered 413 with Connection: close, and the next request on a keep-alive agent goes out on a new connection at once', async () => {
    const server = new OpsServer({
      host: '127.0.0.1',
      port: 0,
      metrics: createMetricsRegistry('too-large'),
      logger: silentLogger(),
      readiness: [],
      routes: {
        'POST /echo': async (req, res) => {
          const body = await readBody(req, 1024);
          if (body === null) return sendTooLarge(req, res, { error: 'too large' });
          sendJson(res, 200, { bytes: body.length });
        },
      },
    });
    const port = await server.start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const send = (method: string, path: string, body?: Buffer | string) => requestOn(agent, { port, method, path, body });
      const small = await send('POST', '/echo', 'hello');
      expect(small).toMatchObject({ status: 200, reused: false, body: '{"bytes":5}' });
      // The agent keeps one socket: a well-behaved request reuses it.
      expect(await send('POST', '/echo', 'again')).toMatchObject({ status: 200, reused: true });

      // Far more than the limit, so most of it is still on its way when the answer comes.
      const big = await send('POST', '/echo', Buffer.alloc(4 * 1024 * 1024, 'x'));
      expect(big).toMatchObject({ status: 413, headers: expect.objectContaining({ connection: 'close' }), body: '{"error":"too large"}' });
      // Not sent down the connection the server is closing (which would hang, then reset): a new one, answered.
      expect(await send('GET', '/healthz')).toMatchObject({ status: 200, reused: false });
      expect(await send('GET', '/healthz')).toMatchObject({ status: 200, reused: true });
    } finally {
      agent.destroy();
      await server.stop();
    }
  });
});
