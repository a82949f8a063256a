import { Prisma } from './generated/prisma/client';
import { OUTBOX_ROW, type RowOf } from './shapes';
import type { Sql } from './sql';

/** An event waiting in the outbox: its row id (to delete it by) and what goes on the stream. */
export type OutboxRow = RowOf<typeof OUTBOX_ROW>;

/** An event to write to the outbox (the row's id and time are the table's). */
export type OutboxEntry = Pick<OutboxRow, 'eventId' | 'type' | 'version' | 'data'>;

const ROW_JSON = OUTBOX_ROW.json();
const ROW_SELECT = OUTBOX_ROW.select();

/**
 * The events waiting for their stream (`event_outbox`): written by a service in the same
 * transaction as the change they report (its own statements insert them, with the shape's
 * columns), published by the relay, deleted once Redis has them. Rows are taken with
 * `FOR UPDATE SKIP LOCKED`, so replicas sweeping at once share the rows instead of
 * publishing each twice.
 */
export class EventOutbox {
  constructor(private readonly sql: Sql) {}

  /** Writes events on their own (a writer without a statement of its own; tests). */
  async add(entries: readonly OutboxEntry[]): Promise<OutboxRow[]> {
    if (entries.length === 0) return [];
    const rows = await this.sql.rows<{ row: unknown }>(Prisma.sql`
      INSERT INTO event_outbox (event_id, type, version, data)
      SELECT * FROM unnest(${entries.map((e) => e.eventId)}::text[], ${entries.map((e) => e.type)}::text[], ${entries.map((e) => e.version)}::int[], ${entries.map((e) => e.data)}::text[])
      RETURNING ${ROW_JSON} AS row`);
    return rows.map((r) => OUTBOX_ROW.read(r.row));
  }

  /** Deletes rows whose events are on their stream; the count deleted (a row another replica deleted first is not counted). */
  async remove(ids: readonly bigint[]): Promise<number> {
    if (ids.length === 0) return 0;
    const rows = await this.sql.rows(Prisma.sql`DELETE FROM event_outbox WHERE id = ANY(${ids.map(String)}::text[]::bigint[]) RETURNING id`);
    return rows.length;
  }

  /**
   * Takes up to `limit` rows written at least `minAgeMs` ago (younger ones are still being
   * published by their writer), oldest first, locked for this transaction (rows another
   * replica holds are skipped), hands them to `publish`, and deletes them once it resolved; a
   * `publish` that throws leaves every row for a later sweep. Returns how many were published.
   */
  async drain(limit: number, minAgeMs: number, publish: (rows: OutboxRow[]) => Promise<void>): Promise<number> {
    return this.sql.transaction(async (tx) => {
      const raw = await tx.rows(Prisma.sql`
        SELECT ${ROW_SELECT} FROM event_outbox
         WHERE created_at <= now() - ${minAgeMs}::int * interval '1 millisecond'
         ORDER BY id
         LIMIT ${limit}::int
           FOR UPDATE SKIP LOCKED`);
      if (raw.length === 0) return 0;
      const rows = raw.map((r) => OUTBOX_ROW.read(r));
      await publish(rows);
      await tx.rows(Prisma.sql`DELETE FROM event_outbox WHERE id = ANY(${rows.map((r) => String(r.id))}::text[]::bigint[])`);
      return rows.length;
    });
  }

  /** Rows waiting (the outbox gauge). */
  async count(): Promise<number> {
    const [row] = await this.sql.rows<{ n: number }>(Prisma.sql`SELECT count(*)::int AS n FROM event_outbox`);
    return row?.n ?? 0;
  }
}
