import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from '@dwld/logger';
import { errorMessage } from '@dwld/errors';

/** One thing a service needs to do its work (the database, Redis…); it throws or returns false when missing. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean | void>;
  /** Shown in /readyz's body but never makes the service unready (something it works around). */
  informational?: boolean;
}

export interface OpsServerOptions {
  host: string;
  port: number;
  metrics: Registry;
  readiness: ReadinessCheck[];
  logger: Logger;
  /** A readiness check slower than this counts as failed, so /readyz itself never hangs. */
  checkTimeoutMs?: number;
  /** More endpoints on the same port, keyed "METHOD /path" (e.g. "POST /links"). */
  routes?: Record<string, RouteHandler>;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/**
 * Reads a request body up to `limit` bytes; null as soon as it is larger. The rest is left
 * unread, so answer with sendTooLarge, which closes the connection (a connection whose last
 * body was not read to its end cannot carry another request).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      done();
      // Not destroyed (that would take the socket with it before the answer could be sent).
      req.pause();
      resolve(null);
    };
    const onEnd = () => {
      done();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const onClose = () => {
      done();
      reject(new Error('the client closed the connection before the body ended'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** How long a connection answered 413 keeps taking (and dropping) what its client still sends. */
const LINGER_MS = 5_000;

/**
 * 413 for a body over its limit (readBody said null), then the connection is closed: the
 * answer says `Connection: close`, so the client opens a new one for its next request instead
 * of sending it down one the server is about to drop. What the client is still sending is read
 * and dropped meanwhile (for LINGER_MS at most), so the close does not reset the connection
 * before the client has read the answer.
 */
export function sendTooLarge(req: IncomingMessage, res: ServerResponse, body: unknown): void {
  res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify(body));
  req.resume();
  const socket = req.socket;
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A metrics registry with the process's default metrics, every series labelled with the service. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * The operator's side of a service: /healthz (the process is alive), /readyz (it can reach
 * what it needs), /metrics (Prometheus text format).
 */
export class OpsServer {
  private server: Server | undefined;

  constructor(private readonly options: OpsServerOptions) {}

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.options.logger.error('ops endpoint failed', { path: req.url, error: errorMessage(err) });
        if (!res.headersSent) send(res, 500, { status: 'error' });
        else res.end();
      });
    });
    // Probes and scrapers keep connections open; don't let them hold up a stop.
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Runs every readiness check; the result names each check's state. */
  async readiness(): Promise<{ ready: boolean; checks: Record<string, string> }> {
    const timeoutMs = this.options.checkTimeoutMs ?? 2000;
    const results = await Promise.all(
      this.options.readiness.map(async ({ name, check }) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
        try {
          const outcome = await Promise.race([check(), timeout]);
          return [name, outcome === 'timeout' ? 'timed out' : outcome === false ? 'failing' : 'ok'] as const;
        } catch (err) {
          return [name, `failing: ${errorMessage(err)}`] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const required = results.filter((_, i) => !this.options.readiness[i]!.informational);
    return { ready: required.every(([, state]) => state === 'ok'), checks: Object.fromEntries(results) };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const route = this.options.routes?.[`${req.method} ${path}`];
    if (route) return route(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    switch (path) {
      case '/healthz':
        return send(res, 200, { status: 'ok' });
      case '/readyz': {
        const { ready, checks } = await this.readiness();
        return send(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
      }
      case '/metrics': {
        const body = await this.options.metrics.metrics();
        res.writeHead(200, { 'content-type': this.options.metrics.contentType });
        res.end(body);
        return;
      }
      default:
        return send(res, 404, { error: 'not found' });
    }
  }
}

const send = sendJson;
