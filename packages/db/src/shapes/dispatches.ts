import type { Dispatch, Link } from '../generated/prisma/client';
import { TableShape, type TableColumns } from './table';

/** Every column of `dispatches` (the hand-over history), by the Dispatch field it holds: see LINK_COLUMNS. */
export const DISPATCH_COLUMNS = {
  id: { column: 'id', type: 'int', nullable: false },
  linkId: { column: 'link_id', type: 'int', nullable: true },
  url: { column: 'url', type: 'text', nullable: false },
  host: { column: 'host', type: 'text', nullable: false },
  userId: { column: 'user_id', type: 'bigint', nullable: false },
  chatId: { column: 'chat_id', type: 'bigint', nullable: false },
  downloader: { column: 'downloader', type: 'text', nullable: false },
  quality: { column: 'quality', type: 'text', nullable: false },
  folder: { column: 'folder', type: 'text', nullable: true },
  messageId: { column: 'message_id', type: 'int', nullable: true },
  attempts: { column: 'attempts', type: 'int', nullable: false },
  sendAt: { column: 'send_at', type: 'timestamptz', nullable: false },
  dispatchedAt: { column: 'dispatched_at', type: 'timestamptz', nullable: false },
} as const satisfies TableColumns<Dispatch>;

export const DISPATCHES = new TableShape<Dispatch>('dispatches', DISPATCH_COLUMNS);

/** What a history row copies from its link as it stood: fields both tables have, with the same meaning. */
export const DISPATCH_COPIES_OF_LINK = ['url', 'host', 'userId', 'chatId', 'quality', 'folder', 'messageId', 'sendAt'] as const satisfies ReadonlyArray<keyof Link & keyof Dispatch>;
