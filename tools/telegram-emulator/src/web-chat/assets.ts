import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RouteResponse } from '../http/router';

// The page is plain files in the package's web/ folder, served as they are (no build step);
// from src/web-chat and dist/web-chat alike it is two levels up.
const WEB_DIR = path.resolve(__dirname, '..', '..', 'web');

/** Only our own files: no inline script or style, no other origin, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The files the page is made of, by URL path. */
export const WEB_ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/render.js': { file: 'render.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** Read at each request, so an edited file shows on reload. */
export async function webAsset(urlPath: string): Promise<RouteResponse | undefined> {
  const asset = WEB_ASSETS[urlPath];
  if (!asset) return undefined;
  return {
    headers: {
      'content-type': asset.type,
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    },
    body: await readFile(path.join(WEB_DIR, asset.file)),
  };
}
