import { z } from 'zod';

/**
 * One kind of event: its type (which names its stream), the version this code writes and
 * reads, and the schema of its payload.
 */
export interface EventDef<TType extends string = string, TSchema extends z.ZodType = z.ZodType> {
  readonly type: TType;
  readonly version: number;
  readonly schema: TSchema;
}

// `any` so that every concrete EventDef is assignable to it whatever its schema's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyEventDef = EventDef<string, z.ZodType<any, any>>;

/** What a consumer's handler receives (the schema's output). */
export type EventPayload<D extends AnyEventDef> = z.output<D['schema']>;
/** What a publisher accepts (the schema's input). */
export type EventInput<D extends AnyEventDef> = z.input<D['schema']>;

export function defineEvent<const TType extends string, TSchema extends z.ZodType>(
  type: TType,
  version: number,
  schema: TSchema,
): EventDef<TType, TSchema> {
  if (!/^[a-z][a-z0-9_.-]*$/.test(type)) throw new Error(`Invalid event type "${type}"`);
  if (!Number.isInteger(version) || version < 1) throw new Error(`Invalid version ${version} for event "${type}"`);
  return Object.freeze({ type, version, schema });
}

/** The stream an event type lives in; the prefix lets two deployments share one Redis. */
export function streamKey(prefix: string, event: AnyEventDef | string): string {
  return `${prefix}:${typeof event === 'string' ? event : event.type}`;
}

/** Where entries go that could not be handled after every allowed delivery. */
export function deadLetterKey(prefix: string, event: AnyEventDef | string): string {
  return `${streamKey(prefix, event)}:dead`;
}

/** Thrown by the publisher for a payload its schema rejects; nothing is written. */
export class EventValidationError extends Error {
  override readonly name = 'EventValidationError';
  constructor(
    readonly eventType: string,
    readonly issues: readonly z.core.$ZodIssue[],
  ) {
    super(`Invalid "${eventType}" payload: ${describeIssues(issues)}`);
  }
}

/**
 * Paths and messages only: zod's messages name the expected and received types, never the
 * values, so payload secrets stay out of errors and logs.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('; ');
}

/** The fields of one stream entry, as written by the publisher. */
export interface EntryFields {
  id: string;
  v: string;
  at: string;
  data: string;
}

export function encodeEntry(def: AnyEventDef, payload: unknown, eventId: string, publishedAt: number): EntryFields {
  const parsed = def.schema.safeParse(payload);
  if (!parsed.success) throw new EventValidationError(def.type, parsed.error.issues);
  return { id: eventId, v: String(def.version), at: String(publishedAt), data: JSON.stringify(parsed.data) };
}

export type DecodedEntry<D extends AnyEventDef> =
  | { ok: true; eventId: string; publishedAt: Date; payload: EventPayload<D> }
  | { ok: false; eventId: string | undefined; reason: string };

/**
 * Parses and validates an entry read from the stream. A failure is a poison entry: retrying
 * it here will not help, though a newer consumer of the same group may be able to read it.
 */
export function decodeEntry<D extends AnyEventDef>(def: D, fields: Readonly<Record<string, string>>): DecodedEntry<D> {
  const eventId = fields.id || undefined;
  if (!eventId) return { ok: false, eventId, reason: 'entry has no event id' };
  const version = Number(fields.v);
  if (!Number.isInteger(version)) return { ok: false, eventId, reason: `entry has no valid version ("${fields.v ?? ''}")` };
  if (version !== def.version) {
    return { ok: false, eventId, reason: `unsupported version ${version} of "${def.type}" (this consumer reads version ${def.version})` };
  }
  const at = Number(fields.at);
  if (!Number.isFinite(at)) return { ok: false, eventId, reason: 'entry has no valid timestamp' };
  let data: unknown;
  try {
    data = JSON.parse(fields.data ?? '');
  } catch {
    return { ok: false, eventId, reason: 'entry data is not valid JSON' };
  }
  const parsed = def.schema.safeParse(data);
  if (!parsed.success) return { ok: false, eventId, reason: `invalid payload: ${describeIssues(parsed.error.issues)}` };
  return { ok: true, eventId, publishedAt: new Date(at), payload: parsed.data as EventPayload<D> };
}
