/**
 * The project's one error vocabulary. Adapters turn what they meet (a gRPC status, a database
 * or Redis failure, a bad request) into one of these kinds at their edge, so the edges that
 * talk to people and callers (a Telegram reply, a gRPC status, an HTTP answer) decide what to
 * say from the kind alone.
 */
export type ErrorKind = 'invalid_input' | 'not_found' | 'forbidden' | 'unavailable' | 'limit_reached' | 'internal';

export const ERROR_KINDS: readonly ErrorKind[] = ['invalid_input', 'not_found', 'forbidden', 'unavailable', 'limit_reached', 'internal'];

export class AppError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The input is wrong and retrying it unchanged will fail again; the message says why. */
export class InvalidInputError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_input', message, options);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('not_found', message, options);
  }
}

/** The caller is not allowed to do this (unknown user, missing or wrong token, someone else's link). */
export class ForbiddenError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('forbidden', message, options);
  }
}

/** A dependency (database, Redis, a downloader) cannot be reached right now; retrying later may work. */
export class UnavailableError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unavailable', message, options);
  }
}

/**
 * Too much at once: a caller's rate, the work this process takes at a time, or a quota (how
 * many of a thing may exist). Nothing was done; the same request may succeed later. The message
 * names the limit, never the caller's input.
 */
export class LimitReachedError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('limit_reached', message, options);
  }
}

/** A bug on one side or the other: not the caller's input, not a dependency that is away. */
export class InternalError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

/**
 * How a call to a downloader failed, as dispatching needs to know it:
 * - no_downloader: the name is not (or no longer) registered;
 * - unavailable: unreachable, deadline exceeded, overloaded — retrying later may work;
 * - refused: the downloader answered that it will not take this request — retrying will not help;
 * - internal: anything else (a bug on one side, an unimplemented method).
 */
export type DownloaderFailure = 'no_downloader' | 'unavailable' | 'refused' | 'internal';

export const DOWNLOADER_FAILURES: readonly DownloaderFailure[] = ['no_downloader', 'unavailable', 'refused', 'internal'];

export function isDownloaderFailure(value: unknown): value is DownloaderFailure {
  return typeof value === 'string' && (DOWNLOADER_FAILURES as readonly string[]).includes(value);
}

/** Each downloader failure is one of the kinds above. */
export const KIND_OF_DOWNLOADER_FAILURE: Readonly<Record<DownloaderFailure, ErrorKind>> = {
  no_downloader: 'not_found',
  unavailable: 'unavailable',
  refused: 'invalid_input',
  internal: 'internal',
};

export interface DownloaderErrorOptions {
  cause?: unknown;
  /** What the downloader itself said, without our words around it. */
  details?: string;
  /**
   * The call may have done its work although it failed: no answer came before the deadline,
   * or the downloader's answer does not say whether it acted (the deployed downloaders answer
   * UNKNOWN for every error, "I hold that link already" included). Only reading its queue tells.
   */
  outcomeUncertain?: boolean;
  /** No answer came before the deadline: the request may have arrived and be at work still. */
  answerLost?: boolean;
}

/**
 * A call to a downloader failed. Whatever protocol a downloader speaks, its adapter throws
 * this (or a subclass carrying protocol detail), so dispatching decides from `failure` and the
 * two flags alone.
 */
export class DownloaderError extends AppError {
  readonly details: string | undefined;
  readonly outcomeUncertain: boolean;
  readonly answerLost: boolean;

  constructor(
    readonly failure: DownloaderFailure,
    /** The downloader's registered name (or its address when it has none). */
    readonly downloader: string,
    /** What was asked of it (the protocol's method name). */
    readonly operation: string,
    message: string,
    options: DownloaderErrorOptions = {},
  ) {
    super(KIND_OF_DOWNLOADER_FAILURE[failure], message, { cause: options.cause });
    this.details = options.details || undefined;
    this.answerLost = options.answerLost ?? false;
    this.outcomeUncertain = this.answerLost || (options.outcomeUncertain ?? false);
  }
}

export function errorKind(err: unknown): ErrorKind {
  return err instanceof AppError ? err.kind : 'internal';
}

/**
 * The failure kind of something caught around a call to a downloader: a DownloaderError's, a
 * kind itself, or an object whose `failure` field holds one. Anything else is 'internal'.
 */
export function downloaderFailureOf(caught: unknown): DownloaderFailure {
  if (caught instanceof DownloaderError) return caught.failure;
  if (isDownloaderFailure(caught)) return caught;
  if (typeof caught === 'object' && caught !== null && 'failure' in caught) {
    const { failure } = caught as { failure: unknown };
    if (isDownloaderFailure(failure)) return failure;
  }
  return 'internal';
}

/** The message of anything thrown: an Error's message, else the value as text. The one way to read one. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  // An Error from another realm (Node's own socket errors under jest's module registry) fails
  // instanceof, but has its message all the same.
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message;
  try {
    return String(err);
  } catch {
    return Object.prototype.toString.call(err);
  }
}
