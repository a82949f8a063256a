import type { IncomingMessage } from 'node:http';

/** A request body the emulator could not read. */
export class BodyParseError extends Error {
  override name = 'BodyParseError';
}

const MAX_BODY_BYTES = 50 * 1024 * 1024;

export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyParseError('request body is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * A method's parameters from the query string and the body, in each encoding Telegram accepts:
 * JSON, urlencoded form and multipart form (file parts are noted by name and size, not kept).
 * Body fields win over query fields of the same name.
 */
export function parseParams(contentType: string | undefined, body: Buffer, query: URLSearchParams): Record<string, unknown> {
  const params: Record<string, unknown> = Object.fromEntries(query);
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (body.length === 0) return params;
  if (type === 'application/json' || (type === '' && /^\s*\{/.test(body.toString('utf8', 0, 64)))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new BodyParseError("can't parse JSON");
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BodyParseError("can't parse JSON");
    return { ...params, ...(parsed as Record<string, unknown>) };
  }
  if (type === 'multipart/form-data') return { ...params, ...parseMultipart(contentType ?? '', body) };
  return { ...params, ...Object.fromEntries(new URLSearchParams(body.toString('utf8'))) };
}

function parseMultipart(contentType: string, body: Buffer): Record<string, unknown> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const marker = boundary?.[1] ?? boundary?.[2];
  if (!marker) throw new BodyParseError('multipart body without boundary');
  const delimiter = Buffer.from(`--${marker}`);
  const fields: Record<string, unknown> = {};
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    const partStart = start + delimiter.length;
    if (body.subarray(partStart, partStart + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, partStart);
    if (next < 0) break;
    // A part is CRLF, headers, CRLF CRLF, content, CRLF before the next delimiter.
    const part = body.subarray(partStart + 2, next - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const content = part.subarray(headerEnd + 4);
      const name = /name="([^"]*)"/i.exec(headers)?.[1];
      const filename = /filename="([^"]*)"/i.exec(headers)?.[1];
      if (name !== undefined) fields[name] = filename !== undefined ? { file: filename, size: content.length } : content.toString('utf8');
    }
    start = next;
  }
  return fields;
}
