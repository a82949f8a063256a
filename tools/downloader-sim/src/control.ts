import { z } from 'zod';
import { readBody, sendJson, sendTooLarge, type RouteHandler } from '@dwld/runtime';
import { MODES, type Mode, type ModeState } from './mode';
import type { ReceivedRequest } from './simulated-downloader';

/** What the control endpoints drive (the app). */
export interface SimControl {
  setMode(mode: Mode, count?: number, message?: string): ModeState;
  mode(): ModeState;
  received(): ReceivedRequest[];
  reset(): void;
}

export const modeRequest = z.strictObject({
  mode: z.enum(MODES, { message: `mode must be one of ${MODES.join(', ')}` }),
  count: z.number({ message: 'count must be a number' }).int('count must be a whole number').min(1, 'count must be at least 1').max(1_000_000, 'count must be at most 1000000').optional(),
  message: z.string({ message: 'message must be a string' }).min(1, 'message must not be empty').max(500, 'message must be at most 500 characters').optional(),
});

const MAX_BODY = 4096;

/**
 * Endpoints on the ops port that switch the simulation without a restart:
 * - `POST /mode {"mode":"fail"|"refuse"|"hang"|"ok","count"?:n,"message"?:"…"}`, `GET /mode`;
 * - `GET /received`: every SetToQueue call received, in order, with its time and outcome;
 * - `POST /reset`: forgets received calls and downloads, and puts the configured MODE back.
 */
export function controlRoutes(control: SimControl): Record<string, RouteHandler> {
  return {
    'GET /mode': (_req, res) => sendJson(res, 200, control.mode()),
    'POST /mode': async (req, res) => {
      const body = await readBody(req, MAX_BODY);
      if (body === null) return sendTooLarge(req, res, { error: `body larger than ${MAX_BODY} bytes` });
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        return sendJson(res, 400, { error: 'body must be JSON like {"mode":"fail","count":1}' });
      }
      const parsed = modeRequest.safeParse(json);
      if (!parsed.success) return sendJson(res, 400, { error: parsed.error.issues[0]?.message ?? 'invalid body' });
      const { mode, count, message } = parsed.data;
      try {
        return sendJson(res, 200, control.setMode(mode, count, message));
      } catch (err) {
        // A mode this flavour has no counterpart of (fail with FLAVOUR=go).
        if (err instanceof RangeError) return sendJson(res, 400, { error: err.message });
        throw err;
      }
    },
    'GET /received': (_req, res) => sendJson(res, 200, { received: control.received() }),
    'POST /reset': async (req, res) => {
      await readBody(req, MAX_BODY); // drain whatever was sent
      control.reset();
      sendJson(res, 200, { status: 'reset', ...control.mode() });
    },
  };
}
