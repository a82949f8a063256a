import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from './request-params';
import { errorMessage } from '@dwld/errors';

export interface RouteRequest {
  method: string;
  path: string;
  /** Named parts of the path (`:id` in a string pattern, named groups in a RegExp). */
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Aborted when the client hangs up before the answer is written. */
  signal: AbortSignal;
  body(): Promise<Buffer>;
  /** For handlers that write the answer themselves (streams); they return undefined. */
  response: ServerResponse;
}

export interface RouteResponse {
  status?: number;
  statusText?: string;
  headers?: Record<string, string>;
  /** Sent as application/json. */
  json?: unknown;
  /** Sent as is (set content-type in headers). */
  body?: string | Buffer;
}

export type RouteHandler = (request: RouteRequest) => RouteResponse | undefined | Promise<RouteResponse | undefined>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: RouteHandler;
}

function compile(pattern: string | RegExp): RegExp {
  if (pattern instanceof RegExp) return pattern;
  const source = pattern
    .split('/')
    .map((segment) => (segment.startsWith(':') ? `(?<${segment.slice(1)}>[^/]+)` : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/** A small method + path router over node:http, answering JSON. */
export class Router {
  private readonly routes: Route[] = [];

  constructor(private readonly fallback: RouteHandler = () => ({ status: 404, json: { error: 'Not Found' } })) {}

  /** `method` is an HTTP method or '*'; the first route added that matches wins. */
  add(method: string, pattern: string | RegExp, handler: RouteHandler): this {
    this.routes.push({ method: method.toUpperCase(), pattern: compile(pattern), handler });
    return this;
  }

  get(pattern: string | RegExp, handler: RouteHandler): this {
    return this.add('GET', pattern, handler);
  }

  post(pattern: string | RegExp, handler: RouteHandler): this {
    return this.add('POST', pattern, handler);
  }

  readonly handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const aborter = new AbortController();
    response.on('close', () => {
      if (!response.writableFinished) aborter.abort();
    });
    let answer: RouteResponse | undefined;
    try {
      answer = await this.dispatch(request, response, aborter.signal);
    } catch (err) {
      answer = { status: err instanceof URIError ? 400 : 500, json: { error: errorMessage(err) } };
    }
    if (answer === undefined || response.headersSent || response.destroyed) return;
    const payload = answer.json !== undefined ? JSON.stringify(answer.json) : (answer.body ?? '');
    const headers: Record<string, string | number> = { ...(answer.json !== undefined ? { 'content-type': 'application/json' } : {}), ...answer.headers, 'content-length': Buffer.byteLength(payload) };
    response.writeHead(answer.status ?? 200, answer.statusText, headers);
    response.end(payload);
  };

  private dispatch(request: IncomingMessage, response: ServerResponse, signal: AbortSignal) {
    const url = new URL(request.url ?? '/', 'http://emulator');
    const method = (request.method ?? 'GET').toUpperCase();
    let handler = this.fallback;
    let params: Record<string, string> = {};
    for (const route of this.routes) {
      const match = route.pattern.exec(url.pathname);
      if (match && (route.method === '*' || route.method === method)) {
        handler = route.handler;
        params = Object.fromEntries(Object.entries(match.groups ?? {}).map(([key, value]) => [key, decodeURIComponent(value ?? '')]));
        break;
      }
    }
    return handler({ method, path: url.pathname, params, query: url.searchParams, headers: request.headers, signal, body: () => readBody(request), response });
  }
}
