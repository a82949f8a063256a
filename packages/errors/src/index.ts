/**
 * The project's error taxonomy. Adapters turn what they meet (a gRPC status, a Prisma error,
 * a Redis failure) into one of these kinds, so the edges (a Telegram reply, a gRPC status,
 * an HTTP answer) decide what to say from the kind alone.
 */
export type ErrorKind = 'invalid_input' | 'not_found' | 'forbidden' | 'unavailable' | 'internal';

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

export function errorKind(err: unknown): ErrorKind {
  return err instanceof AppError ? err.kind : 'internal';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
