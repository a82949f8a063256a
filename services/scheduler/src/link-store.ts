import { DISPATCH_PAUSED_KEY, isDispatchPaused, Prisma, type Database, type Sql } from '@dwld/db';
import type { KnownDownloader } from './downloader-directory';

/** A link as this replica claimed it: the row's state for the duration of the claim. */
export interface ClaimedLink {
  id: number;
  url: string;
  host: string;
  chatId: bigint;
  userId: bigint;
  username: string | null;
  quality: string;
  folder: string | null;
  replyMessageId: number | null;
  messageId: number | null;
  sendAt: Date;
  /** Tries made before this claim. */
  attempts: number;
  urgentEventId: string | null;
  /** When its first try failed (null: none has). */
  firstFailedAt: Date | null;
  /** A downloader that may hold the link already (its last SetToQueue ended without a clear answer). */
  unconfirmedDownloader: string | null;
}

/** What one poll read and claimed (LinkStore.claimRound). */
export interface ClaimRound {
  /** Dispatching is paused: nothing was claimed. */
  paused: boolean;
  links: ClaimedLink[];
  /** Every registered downloader, by name, as the same statement read them. */
  downloaders: KnownDownloader[];
}

/** The message ids as the row held them when it was settled (the gateway may have stored the reply id late). */
export interface SettledMessages {
  replyMessageId: number | null;
  messageId: number | null;
}

export interface FailureRecord {
  /** Tries made, this one included. */
  attempts: number;
  lastError: string;
  /** What the person's card says: the kind of failure, and a refusing downloader's own words. */
  kind?: string | null;
  reason?: string | null;
  /** When to try again; null marks the link failed for good. */
  nextAttemptAt: Date | null;
  /** When the first try failed (this one's time when it is the first). */
  firstFailedAt: Date;
  /** A downloader that may hold the link already: its Queue is read before the next try. */
  unconfirmedDownloader: string | null;
}

/** A link.urgent event's link, for writing it down as a row. */
export interface UrgentLink {
  eventId: string;
  url: string;
  host: string;
  userId: bigint;
  chatId: bigint;
  username: string | null;
  quality: string;
  folder: string | null;
  messageId: number | null;
  replyMessageId: number | null;
}

/** How a link.urgent event's link is written down. */
export interface UrgentRow {
  sendAt: Date;
  attempts: number;
  lastError: string | null;
  kind?: string | null;
  reason?: string | null;
  failed: boolean;
  firstFailedAt?: Date | null;
  unconfirmedDownloader?: string | null;
}

/**
 * The scheduler's side of `links` and `dispatches`. Every write to a claimed row is guarded by
 * `claim_owner = owner`: a replica whose claim was lost (lease expired and taken) changes nothing.
 * claimRound and completeMany, run for every poll and every group of outcomes, go through
 * `sql` without Prisma's per-call work; the rest through Prisma.
 */
export class LinkStore {
  constructor(
    private readonly db: Database,
    private readonly sql: Sql,
  ) {}

  isPaused(): Promise<boolean> {
    return isDispatchPaused(this.db);
  }

  /**
   * One poll's reads and claim in one statement (one transaction, however busy): whether
   * dispatching is paused, up to `limit` due links claimed for `owner` for `leaseMs` (none when
   * paused), and the downloaders to route them to. Atomic across replicas: rows another
   * transaction is claiming are skipped (not waited for), and a row is due only when it is
   * unclaimed or its lease has run out. Oldest send time first.
   */
  async claimRound(owner: string, limit: number, leaseMs: number): Promise<ClaimRound> {
    const [row] = await this.sql.rowsWithSettings<{ paused: boolean; links: string; downloaders: string }>(CLAIM_SETTINGS, claimStatement(owner, limit, leaseMs));
    const links = (JSON.parse(row!.links) as Array<Omit<ClaimedLink, 'chatId' | 'userId' | 'sendAt' | 'firstFailedAt'> & { chatId: string; userId: string; sendAt: string; firstFailedAt: string | null }>).map(
      (link): ClaimedLink => ({
        ...link,
        chatId: BigInt(link.chatId),
        userId: BigInt(link.userId),
        sendAt: new Date(link.sendAt),
        firstFailedAt: link.firstFailedAt === null ? null : new Date(link.firstFailedAt),
      }),
    );
    return { paused: row!.paused, links, downloaders: JSON.parse(row!.downloaders) as KnownDownloader[] };
  }

  /**
   * Records hand-overs in one statement: deletes each row this owner still holds and keeps a
   * history row. For each entry, the message ids its row held at that moment (the gateway may
   * have stored the reply id late), or null when the row was gone or no longer this owner's;
   * the history row is written either way.
   */
  async completeMany(entries: ReadonlyArray<{ link: ClaimedLink; downloader: string }>, owner: string): Promise<Array<SettledMessages | null>> {
    if (entries.length === 0) return [];
    const ids = entries.map((e) => e.link.id);
    const downloaders = entries.map((e) => e.downloader);
    const rows = await this.sql.rows<SettledMessages & { id: number }>(Prisma.sql`
      WITH done AS (
        SELECT * FROM unnest(${ids}::int[], ${downloaders}::text[]) AS d(id, downloader)
      ), gone AS (
        DELETE FROM links l USING done d WHERE l.id = d.id AND l.claim_owner = ${owner}
        RETURNING l.id, l.url, l.host, l.user_id, l.chat_id, l.quality, l.folder, l.attempts, l.send_at,
                  l.reply_message_id, l.message_id, d.downloader
      ), history AS (
        INSERT INTO dispatches (link_id, url, host, user_id, chat_id, downloader, quality, folder, message_id, attempts, send_at)
        SELECT id, url, host, user_id, chat_id, downloader, quality, folder, message_id, attempts + 1, send_at FROM gone
        RETURNING id
      )
      SELECT id, reply_message_id AS "replyMessageId", message_id AS "messageId" FROM gone`);
    const settled = new Map(rows.map((row) => [row.id, { replyMessageId: row.replyMessageId, messageId: row.messageId }]));
    const missing = entries.filter((e) => !settled.has(e.link.id));
    if (missing.length > 0) {
      await this.db.dispatch.createMany({
        data: missing.map(({ link, downloader }) => ({
          linkId: link.id, url: link.url, host: link.host, userId: link.userId, chatId: link.chatId, downloader,
          quality: link.quality, folder: link.folder, messageId: link.messageId, attempts: link.attempts + 1, sendAt: link.sendAt,
        })),
      });
    }
    return entries.map((e) => settled.get(e.link.id) ?? null);
  }

  /** Records a failed try and lets go of the claim; null when the row is gone or no longer this replica's. */
  async recordFailure(link: ClaimedLink, owner: string, failure: FailureRecord): Promise<SettledMessages | null> {
    const failed = failure.nextAttemptAt === null;
    const rows = await this.db.$queryRaw<SettledMessages[]>`
      UPDATE links
         SET attempts = ${failure.attempts}::int,
             last_error = ${failure.lastError},
             last_error_kind = ${failure.kind ?? null},
             last_error_reason = ${failure.reason ?? null},
             first_failed_at = ${failure.firstFailedAt}::timestamptz,
             unconfirmed_downloader = ${failure.unconfirmedDownloader},
             send_at = COALESCE(${failure.nextAttemptAt}::timestamptz, send_at),
             status = CASE WHEN ${failed}::boolean THEN 'failed'::"LinkStatus" ELSE status END,
             claim_owner = NULL,
             claim_expires_at = NULL,
             updated_at = now()
       WHERE id = ${link.id}::int AND claim_owner = ${owner}
      RETURNING reply_message_id AS "replyMessageId", message_id AS "messageId"`;
    return rows[0] ?? null;
  }

  /**
   * Extends this owner's claims right before calls; the ids still this owner's. One missing
   * had its lease run out and was taken by another replica, so its call must not be made.
   */
  async renew(ids: readonly number[], owner: string, leaseMs: number): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.$queryRaw<Array<{ id: number }>>`
      UPDATE links SET claim_expires_at = now() + ${leaseMs}::int * interval '1 millisecond'
       WHERE id = ANY(${[...ids]}::int[]) AND claim_owner = ${owner}
      RETURNING id`;
    return new Set(rows.map((row) => row.id));
  }

  /** Lets go of claims without recording a try (stopping before the call started). */
  async release(ids: readonly number[], owner: string): Promise<number> {
    if (ids.length === 0) return 0;
    return this.db.$executeRaw`
      UPDATE links SET claim_owner = NULL, claim_expires_at = NULL
       WHERE id = ANY(${[...ids]}::int[]) AND claim_owner = ${owner}`;
  }

  /** Lets go of every claim this owner still holds (the last step of a stop). */
  async releaseAll(owner: string): Promise<number> {
    return this.db.$executeRaw`UPDATE links SET claim_owner = NULL, claim_expires_at = NULL WHERE claim_owner = ${owner}`;
  }

  /** The earliest send time still ahead among queued links (the next moment worth a look), if any. */
  async nextSendAt(): Promise<Date | null> {
    const [row] = await this.db.$queryRaw<Array<{ at: Date | null }>>`
      SELECT min(send_at) AS at FROM links WHERE status = 'queued' AND send_at > now()`;
    return row?.at ?? null;
  }

  /** Queued links whose send time has passed, claimed or not (the "links due" gauge). */
  async countDue(): Promise<number> {
    const [row] = await this.db.$queryRaw<Array<{ due: number }>>`
      SELECT count(*)::int AS due FROM links WHERE status = 'queued' AND send_at <= now()`;
    return row?.due ?? 0;
  }

  /** The id of this person's queued row for this link, if any (the unique key is user and url). */
  async findQueued(userId: bigint, url: string): Promise<number | null> {
    const row = await this.db.link.findFirst({ where: { userId, url, status: 'queued' }, select: { id: true } });
    return row?.id ?? null;
  }

  /** The id of the row a link.urgent event was written down as, if any. */
  async findUrgent(eventId: string): Promise<number | null> {
    const row = await this.db.link.findUnique({ where: { urgentEventId: eventId }, select: { id: true } });
    return row?.id ?? null;
  }

  /**
   * Writes a link.urgent event's link down as a queued row, once: `urgent_event_id` is unique,
   * so a second delivery finds the first row. When the person queued the same link again in
   * the meantime, that row stands for it. Returns the row's id and whether it was created here.
   */
  async writeDownUrgent(link: UrgentLink, row: UrgentRow): Promise<{ id: number; created: boolean }> {
    const inserted = await this.db.$queryRaw<Array<{ id: number }>>`
      INSERT INTO links (url, host, chat_id, user_id, username, quality, folder, reply_message_id, message_id,
                         send_at, attempts, last_error, last_error_kind, last_error_reason, status, urgent_event_id,
                         first_failed_at, unconfirmed_downloader, updated_at)
      VALUES (${link.url}, ${link.host}, ${link.chatId}::bigint, ${link.userId}::bigint, ${link.username}, ${link.quality},
              ${link.folder}, ${link.replyMessageId}::int, ${link.messageId}::int, ${row.sendAt}::timestamptz,
              ${row.attempts}::int, ${row.lastError}, ${row.kind ?? null}, ${row.reason ?? null}, ${row.failed ? 'failed' : 'queued'}::"LinkStatus",
              ${link.eventId}, ${row.firstFailedAt ?? null}::timestamptz, ${row.unconfirmedDownloader ?? null}, now())
      ON CONFLICT DO NOTHING
      RETURNING id`;
    if (inserted[0]) return { id: inserted[0].id, created: true };
    const existing = await this.db.link.findFirst({
      where: { OR: [{ urgentEventId: link.eventId }, { userId: link.userId, url: link.url }] },
      orderBy: { id: 'asc' },
      select: { id: true },
    });
    if (!existing) throw new Error('urgent link was neither inserted nor found');
    return { id: existing.id, created: false };
  }

  /**
   * The history row of a link.urgent dispatched straight from the event, once: a second
   * delivery finds the first by user, link and acceptance time.
   */
  async recordUrgentDispatch(link: UrgentLink, downloader: string, acceptedAt: Date, attempts: number): Promise<void> {
    await this.db.$executeRaw`
      INSERT INTO dispatches (link_id, url, host, user_id, chat_id, downloader, quality, folder, message_id, attempts, send_at)
      SELECT NULL, ${link.url}, ${link.host}, ${link.userId}::bigint, ${link.chatId}::bigint, ${downloader},
             ${link.quality}, ${link.folder}, ${link.messageId}::int, ${attempts}::int, ${acceptedAt}::timestamptz
       WHERE NOT EXISTS (
             SELECT 1 FROM dispatches
              WHERE link_id IS NULL AND user_id = ${link.userId}::bigint AND url = ${link.url}
                AND send_at = ${acceptedAt}::timestamptz)`;
  }
}

/**
 * The claim must walk the (status, send_at, id) index and stop after `limit` rows. With stale
 * statistics (a burst after a quiet spell, when the table was analyzed nearly empty) the
 * planner guesses a handful of due rows and sorts every due link instead, on every poll: ~10 ms
 * a poll at 20,000 due. So sorting is ruled out, for the claim's own transaction only.
 */
export const CLAIM_SETTINGS = 'SET LOCAL enable_sort = off';

/**
 * LinkStore.claimRound's statement. The due links are picked and locked once (MATERIALIZED):
 * as `UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`, a plan that re-ran the
 * subquery per row claimed a further row each time, all due links at once for a limit of one.
 * JSON for the rows: one text value to parse instead of a value per column to convert; bigints
 * travel as text (Telegram ids may pass 2^53). Paused as isPausedValue reads it.
 */
export function claimStatement(owner: string, limit: number, leaseMs: number): Prisma.Sql {
  return Prisma.sql`
      WITH pause AS (
        SELECT EXISTS (SELECT 1 FROM settings
                        WHERE key = ${DISPATCH_PAUSED_KEY} AND value IN ('true'::jsonb, '"true"'::jsonb)) AS paused
      ), due AS MATERIALIZED (
        SELECT id FROM links
         WHERE status = 'queued'
           AND send_at <= now()
           AND (claim_owner IS NULL OR claim_expires_at < now())
           AND NOT (SELECT paused FROM pause)
         ORDER BY send_at, id
         LIMIT ${limit}::int
           FOR UPDATE SKIP LOCKED
      ), claimed AS (
        UPDATE links l
           SET claim_owner = ${owner},
               claim_expires_at = now() + ${leaseMs}::int * interval '1 millisecond'
          FROM due
         WHERE l.id = due.id
        RETURNING l.id, l.url, l.host, l.chat_id, l.user_id, l.username, l.quality, l.folder, l.reply_message_id,
                  l.message_id, l.send_at, l.attempts, l.urgent_event_id, l.first_failed_at, l.unconfirmed_downloader
      )
      SELECT (SELECT paused FROM pause) AS paused,
             (SELECT COALESCE(json_agg(json_build_object(
                       'id', id, 'url', url, 'host', host, 'chatId', chat_id::text, 'userId', user_id::text,
                       'username', username, 'quality', quality, 'folder', folder, 'replyMessageId', reply_message_id,
                       'messageId', message_id, 'sendAt', send_at, 'attempts', attempts, 'urgentEventId', urgent_event_id,
                       'firstFailedAt', first_failed_at, 'unconfirmedDownloader', unconfirmed_downloader)
                     ORDER BY send_at, id), '[]') FROM claimed)::text AS links,
             (SELECT COALESCE(json_agg(json_build_object(
                       'name', name, 'host', host, 'port', port, 'patterns', allowed_patterns, 'healthy', healthy)
                     ORDER BY name), '[]') FROM downloaders)::text AS downloaders`;
}
