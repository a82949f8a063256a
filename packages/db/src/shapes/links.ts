import { LinkStatus, type Link } from '../generated/prisma/client';
import { TableShape, type TableColumns } from './table';

/** The LinkStatus enum as its column holds it (quoted: the type was created with a capital). */
const LINK_STATUS = { name: '"LinkStatus"', values: LinkStatus };

/**
 * Every column of `links`, by the Link field it holds. Typed against Prisma's Link: a field
 * renamed, added or retyped in schema.prisma fails to compile here; a column renamed (@map)
 * fails shapes.test.ts, which reads the migrated table.
 */
export const LINK_COLUMNS = {
  id: { column: 'id', type: 'int', nullable: false },
  url: { column: 'url', type: 'text', nullable: false },
  host: { column: 'host', type: 'text', nullable: false },
  chatId: { column: 'chat_id', type: 'bigint', nullable: false },
  userId: { column: 'user_id', type: 'bigint', nullable: false },
  username: { column: 'username', type: 'text', nullable: true },
  ownerName: { column: 'owner_name', type: 'text', nullable: true },
  quality: { column: 'quality', type: 'text', nullable: false },
  folder: { column: 'folder', type: 'text', nullable: true },
  replyMessageId: { column: 'reply_message_id', type: 'int', nullable: true },
  messageId: { column: 'message_id', type: 'int', nullable: true },
  sendAt: { column: 'send_at', type: 'timestamptz', nullable: false },
  attempts: { column: 'attempts', type: 'int', nullable: false },
  lastError: { column: 'last_error', type: 'text', nullable: true },
  lastErrorKind: { column: 'last_error_kind', type: 'text', nullable: true },
  lastErrorReason: { column: 'last_error_reason', type: 'text', nullable: true },
  firstFailedAt: { column: 'first_failed_at', type: 'timestamptz', nullable: true },
  unconfirmedDownloader: { column: 'unconfirmed_downloader', type: 'text', nullable: true },
  cardPending: { column: 'card_pending', type: 'boolean', nullable: false },
  status: { column: 'status', type: LINK_STATUS, nullable: false },
  claimOwner: { column: 'claim_owner', type: 'text', nullable: true },
  claimExpiresAt: { column: 'claim_expires_at', type: 'timestamptz', nullable: true },
  urgentEventId: { column: 'urgent_event_id', type: 'text', nullable: true },
  createdAt: { column: 'created_at', type: 'timestamptz', nullable: false },
  updatedAt: { column: 'updated_at', type: 'timestamptz', nullable: false },
} as const satisfies TableColumns<Link>;

/** The `links` table: the queue (owners: the gateway adds, changes and removes; the scheduler claims and settles). */
export const LINKS = new TableShape<Link>('links', LINK_COLUMNS);

/** Some fields of a `links` row, typed as Link types them. */
export type LinkRow<F extends keyof Link = keyof Link> = Pick<Link, F>;

const WHOLE_LINK = LINKS.all();

/** A whole `links` row read by node-postgres (RETURNING / SELECT `LINKS.all().select()`), checked and typed as Prisma reads it. */
export function linkFromRow(raw: unknown): Link {
  return WHOLE_LINK.read(raw);
}

/**
 * What a new queued link is given, whichever way it comes in (a person's message, the HTTP API,
 * the Go importer); the rest of the row takes its defaults. Ids as decimal strings.
 */
export interface NewLinkFields {
  url: string;
  host: string;
  userId: string;
  chatId: string;
  username: string | null;
  /** The owner's name as Telegram showed it (first and last name); null when unknown. */
  ownerName: string | null;
  quality: string;
  folder: string | null;
  sendAt: Date;
}
