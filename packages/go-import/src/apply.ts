import type { Queue } from 'bullmq';
import { DOWNLOADERS, LINKS, Prisma, routeRowOf, type Sql } from '@dwld/db';
import { OUTBOX_JOB_OPTIONS, type OutboxDeleteJob } from '@dwld/events';
import type { ImportPlan, PlannedDeletion, PlannedDownloader, PlannedLink, Skipped } from './plan';

/**
 * Writing a plan into dwld: links and downloaders into PostgreSQL, deletions as delayed jobs on
 * the gateway's Telegram outbox. Idempotent: what is there already is left alone and reported,
 * so a second run changes nothing. A dry run reads the same things and writes nothing.
 */

export interface ApplyTargets {
  sql: Sql;
  /** The gateway's outbox queue (OUTBOX_QUEUE under STREAM_PREFIX); needed only when the plan holds deletions. */
  outbox?: Queue<OutboxDeleteJob>;
  /** Counts each deletion's delay (ms since the epoch). */
  clock?: () => number;
}

export interface ApplyOutcome {
  dryRun: boolean;
  links: PlannedLink[];
  downloaders: PlannedDownloader[];
  deletions: PlannedDeletion[];
  /** What was there already (the plan's own skips are not repeated here). */
  skipped: Skipped[];
}

/** What an imported link gives its `links` row (the rest takes the table's defaults); updated_at is the database's now(). */
const IMPORTED_LINK = LINKS.pick(['url', 'host', 'chatId', 'userId', 'username', 'ownerName', 'quality', 'folder', 'replyMessageId', 'sendAt', 'attempts', 'lastError', 'status', 'cardPending']);
const LINK_UPDATED_AT = Prisma.raw(LINKS.column('updatedAt'));
/** An imported downloader's row; registered, last seen and updated at the database's now(). */
const IMPORTED_DOWNLOADER = DOWNLOADERS.pick(['name', 'host', 'port', 'allowedPatterns', 'healthy']);
const DOWNLOADER_TIMES = Prisma.raw((['registeredAt', 'lastSeenAt', 'updatedAt'] as const).map((field) => DOWNLOADERS.column(field)).join(', '));

export const ALREADY_QUEUED = "already in dwld's queue";
export const ALREADY_DISPATCHED = 'already handed to a downloader';
export const ALREADY_IMPORTED = 'imported before (removed since)';
export const ALREADY_REGISTERED = 'already registered';
export const ALREADY_SCHEDULED = 'already scheduled';

export async function applyPlan(plan: ImportPlan, targets: ApplyTargets, options: { dryRun: boolean }): Promise<ApplyOutcome> {
  const outcome: ApplyOutcome = { dryRun: options.dryRun, links: [], downloaders: [], deletions: [], skipped: [] };
  const clock = targets.clock ?? Date.now;

  // Downloaders first: the links that follow have somewhere to go as soon as a scheduler looks.
  for (const downloader of plan.downloaders) {
    const added = options.dryRun ? !(await downloaderExists(targets.sql, downloader.name)) : await insertDownloader(targets.sql, downloader);
    if (added) outcome.downloaders.push(downloader);
    else outcome.skipped.push({ section: 'downloaders', source: downloader.source, what: downloader.name, reason: ALREADY_REGISTERED });
  }

  for (const link of plan.links) {
    // A real run that inserted nothing met a row of this person's link, whatever the second look finds.
    const why = options.dryRun ? await whyNotNew(targets.sql, link) : (await insertLink(targets.sql, link)) ? null : ((await whyNotNew(targets.sql, link)) ?? ALREADY_QUEUED);
    if (why === null) outcome.links.push(link);
    else outcome.skipped.push({ section: 'links', source: link.source, what: link.given, reason: why });
  }

  if (plan.deletions.length > 0) {
    const outbox = targets.outbox;
    if (outbox === undefined) throw new Error('the plan holds deletions but no outbox queue was given');
    for (const deletion of plan.deletions) {
      if (await outbox.getJob(deletion.jobId)) {
        outcome.skipped.push({ section: 'deletions', source: deletion.source, what: `message ${deletion.messageId} in chat ${deletion.chatId}`, reason: ALREADY_SCHEDULED });
        continue;
      }
      if (!options.dryRun) {
        const delay = Math.max(0, deletion.deleteAt.getTime() - clock());
        const data: OutboxDeleteJob = { kind: 'delete', chatId: deletion.chatId, messageId: deletion.messageId };
        // As the gateway's outbox adds a deletion: its name, data, id and options.
        await outbox.add('delete', data, { ...OUTBOX_JOB_OPTIONS, jobId: deletion.jobId, ...(delay > 0 ? { delay } : {}) });
      }
      outcome.deletions.push(deletion);
    }
  }
  return outcome;
}

/**
 * Inserts the link unless this person has it queued already, it was handed to a downloader
 * since, or an earlier import brought it over (it may have been removed since); and notes it as
 * imported, in the same statement.
 */
async function insertLink(sql: Sql, link: PlannedLink): Promise<boolean> {
  const row = IMPORTED_LINK.values({
    url: link.url,
    host: link.host,
    chatId: link.chatId,
    userId: link.userId,
    username: link.username,
    ownerName: link.ownerName,
    quality: link.quality,
    folder: link.folder,
    replyMessageId: link.replyMessageId,
    sendAt: link.sendAt,
    attempts: 0,
    lastError: link.lastError,
    status: 'queued',
    // Drawn again with dwld's buttons when the gateway starts (redrawImportedCards).
    cardPending: link.replyMessageId !== null,
  });
  const rows = await sql.rows<{ id: number }>(Prisma.sql`
    WITH inserted AS (
      INSERT INTO links (${IMPORTED_LINK.columns()}, ${LINK_UPDATED_AT})
      SELECT ${row}, now()
       WHERE NOT EXISTS (SELECT 1 FROM dispatches d WHERE d.user_id = ${link.userId}::bigint AND d.url = ${link.url})
         AND NOT EXISTS (SELECT 1 FROM imported_links i WHERE i.user_id = ${link.userId}::bigint AND i.url = ${link.url})
      ON CONFLICT DO NOTHING
      RETURNING id, user_id, url
    ), noted AS (
      INSERT INTO imported_links (user_id, url) SELECT user_id, url FROM inserted ON CONFLICT DO NOTHING
    )
    SELECT id FROM inserted`);
  return rows.length === 1;
}

/** Why this link would not go in (already queued, handed over, or imported before), or null when it would. */
async function whyNotNew(sql: Sql, link: PlannedLink): Promise<string | null> {
  const [row] = await sql.rows<{ queued: boolean; dispatched: boolean; imported: boolean }>(Prisma.sql`
    SELECT EXISTS (SELECT 1 FROM links WHERE user_id = ${link.userId}::bigint AND url = ${link.url}) AS queued,
           EXISTS (SELECT 1 FROM dispatches WHERE user_id = ${link.userId}::bigint AND url = ${link.url}) AS dispatched,
           EXISTS (SELECT 1 FROM imported_links WHERE user_id = ${link.userId}::bigint AND url = ${link.url}) AS imported`);
  if (row?.queued) return ALREADY_QUEUED;
  if (row?.dispatched) return ALREADY_DISPATCHED;
  if (row?.imported) return ALREADY_IMPORTED;
  return null;
}

/** Inserts the downloader unless one of that name is registered (the live registration wins). */
async function insertDownloader(sql: Sql, downloader: PlannedDownloader): Promise<boolean> {
  const row = IMPORTED_DOWNLOADER.values({ ...routeRowOf(downloader), healthy: true });
  const rows = await sql.rows<{ id: number }>(Prisma.sql`
    INSERT INTO downloaders (${IMPORTED_DOWNLOADER.columns()}, ${DOWNLOADER_TIMES})
    VALUES (${row}, now(), now(), now())
    ON CONFLICT (name) DO NOTHING
    RETURNING id`);
  return rows.length === 1;
}

async function downloaderExists(sql: Sql, name: string): Promise<boolean> {
  const rows = await sql.rows<{ one: number }>(Prisma.sql`SELECT 1 AS one FROM downloaders WHERE name = ${name}`);
  return rows.length > 0;
}
