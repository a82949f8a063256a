import { request, type Agent, type IncomingHttpHeaders } from 'node:http';

export interface AgentRequest {
  port: number;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface AgentResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Whether the request went out on a connection the agent kept alive from an earlier one. */
  reused: boolean;
  body: string;
}

/**
 * One HTTP request on `agent` (a keep-alive agent, to see what a server does with the
 * connection): status, headers, body, and whether the connection was reused. fetch hides that.
 */
export function requestOn(agent: Agent, options: AgentRequest): Promise<AgentResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: '127.0.0.1', port: options.port, method: options.method, path: options.path, headers: options.headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, reused: req.reusedSocket, body: text }));
      res.on('error', reject);
    });
    // The answer may come while the body is still going out (a 413); the rest of it is then not wanted.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' ? undefined : reject(err)));
    req.end(options.body);
  });
}
