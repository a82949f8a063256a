import { isDatabaseUnavailable, LINKS, linkFromRow, Prisma, type Database, type Link, type NewLinkFields, type Sql } from '@dwld/db';
import { Batcher } from '@dwld/runtime';

export type { Link };

/** A link a person sent (its message, if any, deleted once it is handed over); ownerName is null from the HTTP API. */
export interface NewLink extends NewLinkFields {
  messageId: number | null;
}

export type AddOutcome = { created: true; link: Link } | { created: false; existing: Link } | { created: false; handedOver: string };

/** What a person's message (or the HTTP API) gives a new row: NewLink's fields, in the insert's column order. */
const NEW_ROW = LINKS.pick(['url', 'host', 'chatId', 'userId', 'username', 'ownerName', 'quality', 'folder', 'messageId', 'sendAt'] satisfies ReadonlyArray<keyof NewLink>);
const NEW_ROW_COLUMNS = NEW_ROW.columns();
const NEW_ROW_FROM_GIVEN = NEW_ROW.columns('g');
/** Every column of `links`, named as the Link type names them. */
const WHOLE_ROW = LINKS.all().select();

/** Which links /queue shows: waiting for the first try, waiting for a retry, given up. */
export type QueueStatus = 'queued' | 'retrying' | 'failed';
export const QUEUE_STATUSES: readonly QueueStatus[] = ['queued', 'retrying', 'failed'];

export function queueStatusOf(link: Pick<Link, 'status' | 'attempts'>): QueueStatus {
  if (link.status === 'failed') return 'failed';
  return link.attempts > 0 ? 'retrying' : 'queued';
}

export type ChangeOutcome = { ok: true; link: Link } | { ok: false; why: 'gone' | 'in_flight' };

/** What one insert of a batch came to: the new row, none (already there or handed over), or its own error. */
type Inserted = { link: Link | null } | { error: unknown };

/** The queue of links as people see it (the gateway's side of `links`): what they add, change, retry and remove. */
export class LinkQueue {
  /**
   * Group commit: the links of updates handled at the same time go in as one INSERT (one
   * round trip and one statement to plan for many people), which is what lets one gateway keep
   * up with a burst of messages.
   */
  private readonly inserts = new Batcher<NewLink, Inserted>((links) => this.insertBatch(links), { maxBatch: 200 });

  constructor(
    private readonly db: Database,
    /** For the hot insert: raw statements skip Prisma's per-call query compiler (docs/ARCHITECTURE.md). */
    private readonly sql: Sql,
  ) {}

  /**
   * Stores a link: `created`, or not when this user already has it queued (`existing`), or
   * when this very message's link was handed over already (`handedOver`: Telegram delivered
   * the message again after the link left the queue).
   */
  async add(link: NewLink): Promise<AddOutcome> {
    const inserted = await this.inserts.submit(link);
    if ('error' in inserted) throw inserted.error;
    if (inserted.link) return { created: true, link: inserted.link };
    // The rare ways in: a redelivered message, or the link already queued.
    if (link.messageId !== null) {
      const downloader = await this.handedOverFrom(link.chatId, link.messageId, link.url);
      if (downloader !== null) return { created: false, handedOver: downloader };
    }
    const existing = await this.db.link.findUnique({ where: { userId_url: { userId: BigInt(link.userId), url: link.url } } });
    // Dispatched between the insert and this read: it can be queued again.
    if (!existing) return this.add(link);
    return { created: false, existing };
  }

  /**
   * Inserts many links in one statement. A link is left out when its user already has it
   * (ON CONFLICT) or when this very message's link is in `dispatches` already. Only the first
   * link of the batch with a given (user, url) goes in; a later one comes back without a row
   * and `add` looks again (it is "already queued", or goes in by itself if the first did
   * not). Rows come back matched by (user, url), and go in in that order, so concurrent
   * batches take the unique index's locks in one order.
   */
  private async insertBatch(links: NewLink[]): Promise<Inserted[]> {
    const keyOf = (userId: string | bigint, url: string) => `${/^-?\d+$/.test(String(userId)) ? BigInt(userId) : userId}:${url}`;
    const seen = new Set<string>();
    const firsts = links.filter((link) => {
      const key = keyOf(link.userId, link.url);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    let rows: Link[];
    try {
      const raw = await this.sql.rows<Record<string, unknown> & { hadRow: boolean }>(Prisma.sql`
        WITH given AS (
          SELECT i.*, EXISTS (SELECT 1 FROM links x WHERE x.user_id = i.user_id AND x.url = i.url) AS had_row
            FROM unnest(${NEW_ROW.arrays(firsts)}) AS i(${NEW_ROW_COLUMNS})
        ), inserted AS (
          INSERT INTO links (${NEW_ROW_COLUMNS}, updated_at)
          SELECT ${NEW_ROW_FROM_GIVEN}, now()
            FROM given g
           WHERE g.message_id IS NULL
              OR NOT EXISTS (SELECT 1 FROM dispatches d WHERE d.chat_id = g.chat_id AND d.message_id = g.message_id AND d.url = g.url)
           ORDER BY g.user_id, g.url
          ON CONFLICT DO NOTHING
          RETURNING ${WHOLE_ROW}
        )
        SELECT inserted.*, given.had_row AS "hadRow"
          FROM inserted JOIN given ON given.user_id = inserted."userId" AND given.url = inserted.url`);
      rows = await this.droppingRedeliveries(raw);
    } catch (err) {
      // One bad link must not fail the others: each goes alone, one after another (not all at
      // once: a burst of them would queue for the pool and time out), and keeps its own error.
      if (links.length === 1 || isDatabaseUnavailable(err)) throw err;
      const alone: Inserted[] = [];
      for (const link of links) alone.push(await this.insertBatch([link]).then(([one]) => one!, (error: unknown) => ({ error })));
      return alone;
    }
    const byKey = new Map(rows.map((row) => [keyOf(row.userId, row.url), row]));
    return links.map((link) => {
      const key = keyOf(link.userId, link.url);
      const row = byKey.get(key) ?? null;
      // The first link of the batch with this key got the row; a later one is a duplicate.
      byKey.delete(key);
      return { link: row };
    });
  }

  /**
   * A redelivered message can race its own link's dispatch: the insert saw the queued row and
   * no dispatch (its snapshot), waited on the unique index while the scheduler deleted the row
   * and wrote the dispatch, then went in. Such a row (inserted although its user had the link
   * at the insert's start, from a message) is checked again, in a statement of its own that
   * sees the dispatch now, and taken out if its message's link was handed over meanwhile: the
   * caller then finds the dispatch (handedOver). Rare, so the common batch costs nothing more.
   */
  private async droppingRedeliveries(raw: Array<Record<string, unknown> & { hadRow: boolean }>): Promise<Link[]> {
    const rows = raw.map((row) => linkFromRow(row));
    const suspects = rows.filter((row, i) => raw[i]!.hadRow && row.messageId !== null).map((row) => row.id);
    if (suspects.length === 0) return rows;
    const dropped = await this.sql.rows<{ id: number }>(Prisma.sql`
      DELETE FROM links l USING dispatches d
       WHERE l.id = ANY(${suspects}::int[]) AND l.claim_owner IS NULL
         AND d.chat_id = l.chat_id AND d.message_id = l.message_id AND d.url = l.url
      RETURNING l.id`);
    const gone = new Set(dropped.map((row) => row.id));
    return rows.filter((row) => !gone.has(row.id));
  }

  /**
   * The downloader that already took this link from this very message, if one did: Telegram
   * may deliver a message again after a crash, and by then its link may have left the queue.
   */
  async handedOverFrom(chatId: string, messageId: number, url: string): Promise<string | null> {
    const row = await this.db.dispatch.findFirst({ where: { chatId: BigInt(chatId), messageId, url }, select: { downloader: true } });
    return row?.downloader ?? null;
  }

  find(id: number): Promise<Link | null> {
    return this.db.link.findUnique({ where: { id } });
  }

  findByUrl(url: string, userId?: string): Promise<Link[]> {
    return this.db.link.findMany({ where: { url, ...(userId ? { userId: BigInt(userId) } : {}) }, orderBy: { id: 'asc' } });
  }

  /** Queued links, oldest first; one user's, or everybody's when `userId` is undefined. */
  list(userId?: string, statuses: readonly QueueStatus[] = QUEUE_STATUSES): Promise<Link[]> {
    const or = [];
    if (statuses.includes('queued')) or.push({ status: 'queued' as const, attempts: 0 });
    if (statuses.includes('retrying')) or.push({ status: 'queued' as const, attempts: { gt: 0 } });
    if (statuses.includes('failed')) or.push({ status: 'failed' as const });
    if (or.length === 0) return Promise.resolve([]);
    return this.db.link.findMany({
      where: { ...(userId ? { userId: BigInt(userId) } : {}), OR: or },
      orderBy: [{ userId: 'asc' }, { id: 'asc' }],
    });
  }

  /** How many of a person's links (everybody's when `userId` is undefined) each /select status holds. */
  async countByStatus(userId?: string): Promise<Record<QueueStatus, number>> {
    const groups = await this.db.link.groupBy({
      by: ['status', 'attempts'],
      where: userId ? { userId: BigInt(userId) } : {},
      _count: { _all: true },
    });
    const counts: Record<QueueStatus, number> = { queued: 0, retrying: 0, failed: 0 };
    for (const group of groups) counts[queueStatusOf(group)] += group._count._all;
    return counts;
  }

  /** Waiting links whose card (the bot's reply) is out: the cards to redraw when dispatching pauses or resumes. */
  /** Links whose card another program drew (imported from the Go bot), to be drawn again with dwld's buttons. */
  async cardsPending(): Promise<number[]> {
    const rows = await this.db.link.findMany({ where: { cardPending: true }, select: { id: true }, orderBy: { id: 'asc' } });
    return rows.map((row) => row.id);
  }

  /** The card of this link is dwld's now (its redraw is in the outbox, or there is nothing to draw). */
  async cardDrawn(id: number): Promise<void> {
    await this.db.link.updateMany({ where: { id, cardPending: true }, data: { cardPending: false } });
  }

  withCards(): Promise<Link[]> {
    return this.db.link.findMany({ where: { status: 'queued', replyMessageId: { not: null } }, orderBy: { id: 'asc' } });
  }

  /**
   * Changes quality or folder while the link waits. A link a scheduler holds right now is
   * being sent with what it had: refusing says so instead of pretending the change applied.
   */
  async change(id: number, data: { quality?: string; folder?: string | null }, now: Date): Promise<ChangeOutcome> {
    const [changed] = await this.db.link.updateManyAndReturn({
      where: { id, status: 'queued', OR: [{ claimOwner: null }, { claimExpiresAt: { lt: now } }] },
      data,
    });
    if (changed) return { ok: true, link: changed };
    const link = await this.find(id);
    return { ok: false, why: !link || link.status === 'failed' ? 'gone' : 'in_flight' };
  }

  /**
   * Queues a failed link afresh, to be sent now: its tries count from zero again and the give-up
   * clock restarts. A downloader it was left unconfirmed on (its Queue never readable) is
   * forgotten: the person chose to try again, and that downloader could block the link for good.
   * Null when the link is gone or not failed (queued again already).
   */
  async requeue(id: number, now: Date): Promise<Link | null> {
    const [requeued] = await this.db.link.updateManyAndReturn({
      where: { id, status: 'failed' },
      data: { status: 'queued', attempts: 0, firstFailedAt: null, unconfirmedDownloader: null, sendAt: now, lastError: null, lastErrorKind: null, lastErrorReason: null },
    });
    return requeued ?? null;
  }

  /** Removes a link; null when it was already gone (dispatched or removed). */
  async remove(id: number): Promise<Link | null> {
    try {
      return await this.db.link.delete({ where: { id } });
    } catch (err) {
      if ((err as { code?: string }).code === 'P2025') return null;
      throw err;
    }
  }

  /** Written after each "queued" reply is sent: one statement (Prisma's updateMany takes a transaction, three round trips). */
  async setReplyMessageId(id: number, messageId: number): Promise<boolean> {
    const count = await this.db.$executeRaw`
      UPDATE links SET reply_message_id = ${messageId}::int, updated_at = now() WHERE id = ${id}::int`;
    return count === 1;
  }
}
