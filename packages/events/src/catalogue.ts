import { z } from 'zod';
import { defineEvent, type EventPayload } from './event-def';
import { DOWNLOADER_FAILURES, type DownloaderFailure } from '@dwld/errors';

// Telegram ids travel as decimal strings: they may exceed 2^53 and chat ids of groups are negative.
// Telegram ids fit a signed 64-bit integer (PostgreSQL's bigint): anything longer is refused here, not deep in a handler.
const telegramId = z
  .string()
  .regex(/^-?\d{1,19}$/, { message: 'expected a decimal Telegram id', abort: true })
  .refine((id) => BigInt(id) <= 9223372036854775807n && BigInt(id) >= -9223372036854775808n, 'expected a Telegram id within 64 bits');
const isoTime = z.iso.datetime({ offset: true });
const linkId = z.number().int().positive();
const messageId = z.number().int().positive();
const nonEmpty = z.string().min(1);

/** What a person asked for: the link, who asked, and at which quality / into which folder. */
const linkRequest = {
  url: nonEmpty,
  host: nonEmpty,
  userId: telegramId,
  chatId: telegramId,
  username: z.string().nullable(),
  quality: nonEmpty,
  folder: z.string().nullable(),
};

/** A user sent a link; it is stored in PostgreSQL and waits for its quality / send time. */
export const linkAdded = defineEvent(
  'link.added',
  1,
  z.object({
    linkId,
    ...linkRequest,
    sendAt: isoTime,
  }),
);

/** The user chose a quality (and maybe a folder) for a stored link. */
export const qualitySet = defineEvent(
  'quality.set',
  1,
  z.object({
    linkId,
    userId: telegramId,
    quality: nonEmpty,
    folder: z.string().nullable(),
  }),
);

/** A link accepted while PostgreSQL was down: dispatched straight from the event. */
export const linkUrgent = defineEvent(
  'link.urgent',
  1,
  z.object({
    ...linkRequest,
    messageId: messageId.nullable(),
    replyMessageId: messageId.nullable(),
    acceptedAt: isoTime,
  }),
);

/** @dwld/errors' downloader failure kinds, as the event carries them. */
export const dispatchErrorKind = z.enum(DOWNLOADER_FAILURES as [DownloaderFailure, ...DownloaderFailure[]]);

/** The outcome of one attempt to hand a link to a downloader. */
export const dispatchResult = defineEvent(
  'dispatch.result',
  1,
  z.object({
    linkId: linkId.nullable(),
    /** The id of the link.urgent event this result answers, when the link never reached PostgreSQL. */
    urgentEventId: z.string().min(1).nullable(),
    url: nonEmpty,
    userId: telegramId,
    chatId: telegramId,
    messageId: messageId.nullable(),
    replyMessageId: messageId.nullable(),
    ok: z.boolean(),
    downloader: z.string().nullable(),
    error: z.object({ kind: dispatchErrorKind, message: z.string() }).nullable(),
    attempts: z.number().int().nonnegative(),
    nextAttemptAt: isoTime.nullable(),
    /** True once no more attempts will be made. */
    failed: z.boolean(),
  }),
);

/** A downloader registered anew, changed its address or patterns, came back by registering, or its health changed. */
export const downloaderChanged = defineEvent(
  'downloader.changed',
  1,
  z.object({
    name: nonEmpty,
    host: nonEmpty,
    port: z.number().int().min(1).max(65535),
    patterns: z.array(z.string()),
    healthy: z.boolean(),
    /** forgotten: unheard of for FORGET_DOWNLOADER_AFTER_S, its row deleted (host, port and patterns are its last). */
    change: z.enum(['registered', 'health', 'forgotten']),
  }),
);

/** Every event the project publishes. */
export const catalogue = { linkAdded, qualitySet, linkUrgent, dispatchResult, downloaderChanged } as const;

export type LinkAdded = EventPayload<typeof linkAdded>;
export type QualitySet = EventPayload<typeof qualitySet>;
export type LinkUrgent = EventPayload<typeof linkUrgent>;
export type DispatchResult = EventPayload<typeof dispatchResult>;
export type DispatchErrorKind = z.infer<typeof dispatchErrorKind>;
export type DownloaderChanged = EventPayload<typeof downloaderChanged>;
