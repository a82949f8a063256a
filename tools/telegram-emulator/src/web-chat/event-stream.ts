import type { ServerResponse } from 'node:http';

export interface EventStreamOptions {
  /** A comment line this often keeps proxies and idle timers from closing the stream (default 15 s). */
  heartbeatMs?: number;
  /** How long a browser waits before reconnecting (the SSE `retry` field; default 1 s). */
  retryMs?: number;
  /** Ends the stream properly (the server is stopping): browsers then reconnect quietly. */
  signal?: AbortSignal;
}

/**
 * Turns an HTTP response into a Server-Sent Events stream: `subscribe` gets the function that
 * sends one event and returns the one that unsubscribes, called once the client hangs up or the
 * server closes the connection. Sending never throws (a listener may run inside a Bot API call).
 */
export function openEventStream<E extends { type: string }>(
  response: ServerResponse,
  subscribe: (send: (event: E) => void) => () => void,
  options: EventStreamOptions = {},
): void {
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // Reverse proxies (nginx) would otherwise hold events back.
    'x-accel-buffering': 'no',
  });
  // A write racing the hang-up reports an error event; nobody else would handle it.
  response.on('error', () => undefined);
  let open = true;
  const write = (chunk: string) => {
    if (!open || response.destroyed || response.writableEnded) return;
    try {
      response.write(chunk);
    } catch {
      // The connection is going away; 'close' cleans up.
    }
  };
  write(`retry: ${options.retryMs ?? 1000}\n\n`);
  // JSON has no raw line breaks, so one data line carries the whole event.
  const unsubscribe = subscribe((event) => write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`));
  const heartbeat = setInterval(() => write(': keep-alive\n\n'), options.heartbeatMs ?? 15_000);
  heartbeat.unref();
  const end = () => response.end();
  const close = () => {
    if (!open) return;
    open = false;
    clearInterval(heartbeat);
    options.signal?.removeEventListener('abort', end);
    unsubscribe();
  };
  response.once('close', close);
  if (response.destroyed) close();
  else if (options.signal?.aborted) end();
  else options.signal?.addEventListener('abort', end, { once: true });
}
