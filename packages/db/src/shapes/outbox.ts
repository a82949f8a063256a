import type { OutboxEvent } from '../generated/prisma/client';
import { TableShape, type TableColumns } from './table';

/** Every column of `event_outbox` (events waiting for their stream), by the OutboxEvent field it holds: see LINK_COLUMNS. */
export const OUTBOX_COLUMNS = {
  id: { column: 'id', type: 'bigint', nullable: false },
  eventId: { column: 'event_id', type: 'text', nullable: false },
  type: { column: 'type', type: 'text', nullable: false },
  version: { column: 'version', type: 'int', nullable: false },
  data: { column: 'data', type: 'text', nullable: false },
  createdAt: { column: 'created_at', type: 'timestamptz', nullable: false },
} as const satisfies TableColumns<OutboxEvent>;

export const OUTBOX = new TableShape<OutboxEvent>('event_outbox', OUTBOX_COLUMNS);

/** An outbox row as the relay reads it: everything (the id to delete it by, the rest to publish). */
export const OUTBOX_ROW = OUTBOX.all();
