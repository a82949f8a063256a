import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { NOT_A_QUALITY, QUALITY_FORMAT } from '@dwld/domain';
import type { Logger } from '@dwld/logger';
import { bearerToken, readBody, secretsEqual, sendJson, sendTooLarge } from '@dwld/runtime';
import type { GatewayConfig } from '../config';
import type { AddLinks, IntakeOutcome } from '../use-cases/add-links';

const body = z.object({
  links: z
    .array(
      z.object({
        link: z.string().min(1).max(16_384),
        quality: z.union([z.number().int().positive(), z.string().regex(QUALITY_FORMAT, NOT_A_QUALITY)]).optional(),
        // The Go bot's scripts send "folder": "" for none.
        folder: z.string().optional().transform((v) => (v === undefined || v.trim() === '' ? undefined : v)),
      }),
    )
    .min(1)
    .max(100),
  /** Whose queue the links join (an admin or allowed id); the first admin when absent. */
  userId: z.union([z.string().regex(/^\d{1,20}$/), z.number().int().positive()]).optional(),
});

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = bearerToken(header);
  return given !== undefined && secretsEqual(given, token);
}

function describe(outcome: IntakeOutcome, config: GatewayConfig): Record<string, unknown> {
  switch (outcome.status) {
    case 'queued':
    case 'duplicate':
      return { status: outcome.status, id: outcome.link.id, url: outcome.link.url, quality: outcome.link.quality, folder: outcome.link.folder, sendAt: outcome.link.sendAt.toISOString() };
    case 'handed_over':
      return { status: 'handed_over', url: outcome.url, downloader: outcome.downloader };
    case 'rejected':
      return { status: 'rejected', reason: outcome.reason };
    case 'urgent':
      return { status: 'urgent', url: outcome.url };
    case 'not_queued':
      return { status: 'not_queued', url: outcome.url };
    case 'not_a_choice':
      if (outcome.field === 'quality') return { status: 'rejected', reason: 'quality', detail: `quality must be one of ${config.QUALITY_OPTIONS.join(', ')}` };
      return { status: 'rejected', reason: 'folder', detail: config.FOLDERS.length ? `folder must be one of ${config.FOLDERS.join(', ')}` : 'no folders are configured' };
  }
}

/**
 * POST /links (and POST /link, the Go bot's address) for scripts:
 * `{"links":[{"link":"…","quality":720,"folder":"…"}]}` with `Authorization: Bearer <API_TOKEN>`,
 * validated exactly as chat input; the Go body (no quality, maybe an empty folder) is the same
 * shape. Answers each link's outcome; 200 when every link was accepted or already queued, 207
 * otherwise.
 */
export function linksApi(deps: {
  config: GatewayConfig;
  addLinks: AddLinks;
  logger: Logger;
  onQueued: (outcome: IntakeOutcome) => Promise<void>;
  /** A link's quality when the body gives none; unset: DEFAULT_QUALITY. POST /link uses max, as the Go bot's endpoint always did. */
  defaultQuality?: string;
}) {
  const { config, addLinks, logger } = deps;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const route = `POST ${req.url?.split('?')[0] ?? '/links'}`;
    if (!config.API_TOKEN) return sendJson(res, 404, { error: `${route} is disabled: set API_TOKEN to enable it` });
    if (!bearerMatches(req.headers.authorization, config.API_TOKEN)) {
      logger.warn(`${route} refused: missing or wrong bearer token`, { remote: req.socket.remoteAddress });
      return sendJson(res, 401, { error: 'a valid bearer token is required (Authorization: Bearer <API_TOKEN>)' });
    }
    const raw = await readBody(req, 1_048_576);
    if (!raw) return sendTooLarge(req, res, { error: 'the body is larger than 1 MiB' });
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      return sendJson(res, 400, { error: 'the body is not valid JSON' });
    }
    const parsed = body.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return sendJson(res, 400, { error: `${issue.path.join('.') || 'body'}: ${issue.message}` });
    }
    const owner = parsed.data.userId !== undefined ? String(parsed.data.userId) : config.ADMIN_IDS[0];
    if (!owner) return sendJson(res, 400, { error: 'userId is required when ADMIN_IDS is empty' });
    if (!config.ADMIN_IDS.includes(owner) && !config.ALLOWED_IDS.includes(owner)) return sendJson(res, 403, { error: 'userId must be an admin or allowed id' });

    const results: Array<Record<string, unknown>> = [];
    addLinks.prepare(parsed.data.links.map((item) => item.link));
    for (const item of parsed.data.links) {
      // Quality and folder are held to the options the card's buttons offer (AddLinks.add).
      const outcome = await addLinks.add({
        raw: item.link,
        userId: owner,
        chatId: owner,
        username: null,
        messageId: null,
        ...(item.quality !== undefined ? { quality: String(item.quality) } : {}),
        ...(deps.defaultQuality ? { defaultQuality: deps.defaultQuality } : {}),
        ...(item.folder ? { folder: item.folder } : {}),
      });
      await deps.onQueued(outcome);
      results.push(describe(outcome, config));
    }
    const allGood = results.every((r) => r.status === 'queued' || r.status === 'duplicate');
    sendJson(res, allGood ? 200 : 207, { results });
  };
}
