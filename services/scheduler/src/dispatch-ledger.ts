import {
  DISPATCH_COPIES_OF_LINK,
  DISPATCH_PAUSED_KEY,
  DISPATCHES,
  downloaderRouteJson,
  isDispatchPaused,
  LINKS,
  OUTBOX_ROW,
  Prisma,
  routesFromJson,
  type Database,
  type LinkRow,
  type OutboxEntry,
  type OutboxRow,
  type RowOf,
  type Sql,
} from '@dwld/db';
import type { KnownDownloader } from './downloader-directory';

/**
 * What a claim reads of each row: what the hand-over, its recording and its result event need.
 * `attempts` counts the tries before this claim, `firstFailedAt` is null while none has failed,
 * and `unconfirmedDownloader` may hold the link already (its last hand-over ended without a
 * clear answer).
 */
const CLAIMED = LINKS.pick(['id', 'url', 'host', 'chatId', 'userId', 'username', 'quality', 'folder', 'replyMessageId', 'messageId', 'sendAt', 'attempts', 'urgentEventId', 'firstFailedAt', 'unconfirmedDownloader']);
const CLAIMED_COLUMNS = CLAIMED.columns('l');
const CLAIMED_JSON = CLAIMED.json();
const ROUTE_JSON = downloaderRouteJson();

/** The message ids a settled row held (the reply's may have been stored after the claim). */
const SETTLED = LINKS.pick(['id', 'replyMessageId', 'messageId']);
const SETTLED_SELECT = SETTLED.select();
const SETTLED_JSON = SETTLED.json();
/** An outbox row as a statement returns it (RETURNING … AS entry), read back with OUTBOX_ROW. */
const OUTBOX_ROW_JSON = OUTBOX_ROW.json();
/** A history row (a hand-over's, an urgent link's): the link it was, where it went, which try, and the copy of the link as it stood. */
const HISTORY = DISPATCHES.pick(['linkId', 'downloader', 'attempts', ...DISPATCH_COPIES_OF_LINK]);
const HISTORY_COLUMNS = HISTORY.columns();
const COPIED_COLUMNS = LINKS.pick(DISPATCH_COPIES_OF_LINK).columns();
/** What a hand-over's DELETE returns for both: the copy and the settled message ids (a Set: the copy has messageId too). */
const GONE_COLUMNS = LINKS.pick([...new Set(['id', 'attempts', ...DISPATCH_COPIES_OF_LINK, 'replyMessageId', 'messageId'] as const)]).columns('l');
/** What a failed try writes. */
const FAILURE = LINKS.pick(['attempts', 'lastError', 'lastErrorKind', 'lastErrorReason', 'firstFailedAt', 'unconfirmedDownloader']);
/** A link.urgent event's link written down as a row. */
const URGENT_ROW = LINKS.pick([
  'url', 'host', 'chatId', 'userId', 'username', 'quality', 'folder', 'replyMessageId', 'messageId',
  'sendAt', 'attempts', 'lastError', 'lastErrorKind', 'lastErrorReason', 'status', 'urgentEventId', 'firstFailedAt', 'unconfirmedDownloader',
]);
const URGENT_ROW_COLUMNS = URGENT_ROW.columns();

/** A link as this replica claimed it: the row's state for the duration of the claim. */
export type ClaimedLink = RowOf<typeof CLAIMED>;

/** What one poll read and claimed (DispatchLedger.claimRound). */
export interface ClaimRound {
  /** Dispatching is paused: nothing was claimed. */
  paused: boolean;
  links: ClaimedLink[];
  /** Every registered downloader, by name, as the same statement read them. */
  downloaders: KnownDownloader[];
}

/** The message ids as the row held them when it was settled (the gateway may have stored the reply id late). */
export type SettledMessages = LinkRow<'replyMessageId' | 'messageId'>;

/**
 * A settled try: the message ids its row held (null when the row was gone or no longer this
 * owner's), and its dispatch.result as written to the outbox in the same statement, for the relay.
 */
export interface Settled {
  messages: SettledMessages | null;
  told: OutboxRow;
}

/**
 * The outbox's copy of a dispatch.result carries the message ids the row held when it was
 * settled, not the ones claimed: the gateway may have stored the reply id since. Only
 * dispatch.result payloads have these fields; `data` is the payload's JSON text.
 */
function withSettledIds(data: Prisma.Sql, row: 'g' | 'f'): Prisma.Sql {
  const ids = Prisma.raw(`jsonb_build_object('messageId', ${row}.message_id, 'replyMessageId', ${row}.reply_message_id)`);
  return Prisma.sql`(${data}::jsonb || ${ids})::text`;
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
export interface UrgentLink extends LinkRow<'url' | 'host' | 'userId' | 'chatId' | 'username' | 'quality' | 'folder' | 'messageId' | 'replyMessageId'> {
  eventId: string;
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
 * The scheduler's record of dispatching, its side of `links` and `dispatches`: claims due links,
 * records each hand-over (history row) and failed try, and writes link.urgent events' links
 * down. Column lists, casts and row readers come from @dwld/db's table shapes. Every write to a claimed row is guarded by
 * `claim_owner = owner`: a replica whose claim was lost (lease expired and taken) changes nothing.
 * claimRound and completeMany, run for every poll and every group of outcomes, go through
 * `sql` without Prisma's per-call work; the rest through Prisma.
 */
export class DispatchLedger {
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
    return { paused: row!.paused, links: CLAIMED.readJsonArray(row!.links), downloaders: routesFromJson(row!.downloaders) };
  }

  /**
   * Records hand-overs in one statement: deletes each row this owner still holds, keeps a
   * history row, and writes each entry's dispatch.result (`told`) to the outbox, with the message
   * ids its row held at that moment (the gateway may have stored the reply id late). For each
   * entry, those message ids (null when the row was gone or no longer this owner's: the history
   * row and the result are written either way) and its outbox row.
   */
  async completeMany(entries: ReadonlyArray<{ link: ClaimedLink; downloader: string; told: OutboxEntry }>, owner: string): Promise<Settled[]> {
    if (entries.length === 0) return [];
    const ids = entries.map((e) => e.link.id);
    const downloaders = entries.map((e) => e.downloader);
    const [row] = await this.sql.rows<{ settled: string; told: string }>(Prisma.sql`
      WITH done AS (
        SELECT * FROM unnest(${ids}::int[], ${downloaders}::text[], ${entries.map((e) => e.told.eventId)}::text[], ${entries.map((e) => e.told.type)}::text[],
                             ${entries.map((e) => e.told.version)}::int[], ${entries.map((e) => e.told.data)}::text[]) AS d(id, downloader, event_id, type, version, data)
      ), gone AS (
        DELETE FROM links l USING done d WHERE l.id = d.id AND l.claim_owner = ${owner}
        RETURNING ${GONE_COLUMNS}, d.downloader
      ), history AS (
        INSERT INTO dispatches (${HISTORY_COLUMNS})
        SELECT id, downloader, attempts + 1, ${COPIED_COLUMNS} FROM gone
        RETURNING id
      ), told AS (
        INSERT INTO event_outbox (event_id, type, version, data)
        SELECT d.event_id, d.type, d.version, CASE WHEN g.id IS NULL THEN d.data ELSE ${withSettledIds(Prisma.raw('d.data'), 'g')} END
          FROM done d LEFT JOIN gone g ON g.id = d.id
        RETURNING ${OUTBOX_ROW_JSON} AS entry
      )
      SELECT (SELECT COALESCE(json_agg(${SETTLED_JSON}), '[]') FROM gone)::text AS settled,
             (SELECT COALESCE(json_agg(entry), '[]') FROM told)::text AS told`);
    const settled = new Map(SETTLED.readJsonArray(row!.settled).map((r) => [r.id, { replyMessageId: r.replyMessageId, messageId: r.messageId }]));
    const told = new Map(OUTBOX_ROW.readJsonArray(row!.told).map((r) => [r.eventId, r]));
    const missing = entries.filter((e) => !settled.has(e.link.id));
    if (missing.length > 0) {
      await this.db.dispatch.createMany({
        data: missing.map(({ link, downloader }) => ({
          linkId: link.id, url: link.url, host: link.host, userId: link.userId, chatId: link.chatId, downloader,
          quality: link.quality, folder: link.folder, messageId: link.messageId, attempts: link.attempts + 1, sendAt: link.sendAt,
        })),
      });
    }
    return entries.map((e) => ({ messages: settled.get(e.link.id) ?? null, told: told.get(e.told.eventId)! }));
  }

  /**
   * Records a failed try, lets go of the claim and writes its dispatch.result (`told`) to the
   * outbox, with the message ids the row held, in one statement; null (and nothing written)
   * when the row is gone or no longer this replica's.
   */
  async recordFailure(link: ClaimedLink, owner: string, failure: FailureRecord, told: OutboxEntry): Promise<Settled | null> {
    const failed = failure.nextAttemptAt === null;
    const written = FAILURE.set({
      attempts: failure.attempts,
      lastError: failure.lastError,
      lastErrorKind: failure.kind ?? null,
      lastErrorReason: failure.reason ?? null,
      firstFailedAt: failure.firstFailedAt,
      unconfirmedDownloader: failure.unconfirmedDownloader,
    });
    const rows = await this.sql.rows<{ settled: unknown; told: unknown }>(Prisma.sql`
      WITH failed AS (
        UPDATE links
           SET ${written},
               send_at = COALESCE(${failure.nextAttemptAt?.toISOString() ?? null}::timestamptz, send_at),
               status = CASE WHEN ${failed}::boolean THEN 'failed'::"LinkStatus" ELSE status END,
               claim_owner = NULL,
               claim_expires_at = NULL,
               updated_at = now()
         WHERE id = ${link.id}::int AND claim_owner = ${owner}
        RETURNING id, reply_message_id, message_id
      ), told AS (
        INSERT INTO event_outbox (event_id, type, version, data)
        SELECT ${told.eventId}, ${told.type}, ${told.version}::int, ${withSettledIds(Prisma.sql`${told.data}::text`, 'f')} FROM failed f
        RETURNING ${OUTBOX_ROW_JSON} AS entry
      )
      SELECT ${SETTLED_JSON} AS settled, (SELECT entry FROM told) AS told FROM failed`);
    if (rows[0] === undefined) return null;
    const { replyMessageId, messageId } = SETTLED.read(rows[0].settled);
    return { messages: { replyMessageId, messageId }, told: OUTBOX_ROW.read(rows[0].told) };
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
   * the meantime, that row stands for it. A row created here gets the dispatch.result `told`
   * makes for its id (if any) written to the outbox in the same transaction. Returns the row's
   * id, whether it was created here, and that outbox row.
   */
  async writeDownUrgent(link: UrgentLink, row: UrgentRow, told: ((linkId: number) => OutboxEntry) | null): Promise<{ id: number; created: boolean; told: OutboxRow | null }> {
    const values = URGENT_ROW.values({
      url: link.url,
      host: link.host,
      chatId: link.chatId,
      userId: link.userId,
      username: link.username,
      quality: link.quality,
      folder: link.folder,
      replyMessageId: link.replyMessageId,
      messageId: link.messageId,
      sendAt: row.sendAt,
      attempts: row.attempts,
      lastError: row.lastError,
      lastErrorKind: row.kind ?? null,
      lastErrorReason: row.reason ?? null,
      status: row.failed ? 'failed' : 'queued',
      urgentEventId: link.eventId,
      firstFailedAt: row.firstFailedAt ?? null,
      unconfirmedDownloader: row.unconfirmedDownloader ?? null,
    });
    const created = await this.sql.transaction(async (tx) => {
      const [inserted] = await tx.rows<{ id: number }>(Prisma.sql`
        INSERT INTO links (${URGENT_ROW_COLUMNS}, updated_at)
        VALUES (${values}, now())
        ON CONFLICT DO NOTHING
        RETURNING id`);
      if (!inserted) return null;
      if (!told) return { id: inserted.id, told: null };
      const entry = told(inserted.id);
      const [written] = await tx.rows<{ entry: unknown }>(Prisma.sql`
        INSERT INTO event_outbox (event_id, type, version, data)
        VALUES (${entry.eventId}, ${entry.type}, ${entry.version}::int, ${entry.data})
        RETURNING ${OUTBOX_ROW_JSON} AS entry`);
      return { id: inserted.id, told: OUTBOX_ROW.read(written!.entry) };
    });
    if (created) return { id: created.id, created: true, told: created.told };
    const existing = await this.db.link.findFirst({
      where: { OR: [{ urgentEventId: link.eventId }, { userId: link.userId, url: link.url }] },
      orderBy: { id: 'asc' },
      select: { id: true },
    });
    if (!existing) throw new Error('urgent link was neither inserted nor found');
    return { id: existing.id, created: false, told: null };
  }

  /**
   * The history row of a link.urgent dispatched straight from the event, once (a second
   * delivery finds the first by user, link and acceptance time), and with it, in the same
   * statement, its dispatch.result `told` in the outbox; that outbox row, or null when the
   * history row was there already (its result was written with it).
   */
  async recordUrgentDispatch(link: UrgentLink, downloader: string, acceptedAt: Date, attempts: number, told: OutboxEntry): Promise<OutboxRow | null> {
    const values = HISTORY.values({
      linkId: null,
      downloader,
      attempts,
      url: link.url,
      host: link.host,
      userId: link.userId,
      chatId: link.chatId,
      quality: link.quality,
      folder: link.folder,
      messageId: link.messageId,
      sendAt: acceptedAt,
    });
    const [row] = await this.sql.rows<{ told: unknown }>(Prisma.sql`
      WITH history AS (
        INSERT INTO dispatches (${HISTORY_COLUMNS})
        SELECT ${values}
         WHERE NOT EXISTS (
               SELECT 1 FROM dispatches
                WHERE link_id IS NULL AND user_id = ${String(link.userId)}::bigint AND url = ${link.url}
                  AND send_at = ${acceptedAt.toISOString()}::timestamptz)
        RETURNING id
      ), told AS (
        INSERT INTO event_outbox (event_id, type, version, data)
        SELECT ${told.eventId}, ${told.type}, ${told.version}::int, ${told.data} FROM history
        RETURNING ${OUTBOX_ROW_JSON} AS entry
      )
      SELECT (SELECT entry FROM told) AS told`);
    return row?.told ? OUTBOX_ROW.read(row.told) : null;
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
 * DispatchLedger.claimRound's statement. The due links are picked and locked once (MATERIALIZED):
 * as `UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`, a plan that re-ran the
 * subquery per row claimed a further row each time, all due links at once for a limit of one.
 * JSON for the rows (the links shape's json_build_object, read back by its checked reader): one
 * text value to parse instead of a value per column to convert; bigints travel as text
 * (Telegram ids may pass 2^53). Paused as isPausedValue reads it.
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
        RETURNING ${CLAIMED_COLUMNS}
      )
      SELECT (SELECT paused FROM pause) AS paused,
             (SELECT COALESCE(json_agg(${CLAIMED_JSON} ORDER BY send_at, id), '[]') FROM claimed)::text AS links,
             (SELECT COALESCE(json_agg(${ROUTE_JSON} ORDER BY name), '[]') FROM downloaders)::text AS downloaders`;
}
