import { ERRORS, type ErrorCode } from './catalog.ts';

export interface AppErrorOptions {
  /** Overrides the code's flag in the catalog for this occurrence (e.g. a 5xx answer is worth retrying). */
  retriable?: boolean;
  cause?: unknown;
  details?: Record<string, unknown>;
}

/**
 * The one error type of Tributary. `code` is a code of the catalog (`<AREA>_ERR_<PROBLEM>`) so
 * dashboards, dead-letter headers and alerts can key on it; `retriable` (the catalog's flag unless
 * overridden) is all the consumer runner reads: retriable errors are retried with backoff, the
 * others go straight to the dead-letter topic. `status` is what an HTTP route answers with it.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, opts: AppErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.retriable = opts.retriable ?? ERRORS[code].retriable;
    this.details = Object.freeze({ ...opts.details });
  }

  /** The HTTP status of the code in the catalog. */
  get status(): number {
    return ERRORS[this.code].status;
  }
}

/** True for an AppError, or anything carrying the same shape across realms. */
export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/**
 * A programmer's mistake, not a condition of the world: trying again runs the same code on the same
 * input and fails the same way. (SyntaxError here is eval's or a malformed RegExp's; JSON.parse's
 * SyntaxError on input data should be caught and classified where the data enters.) Node's fetch
 * reports a network failure as `TypeError('fetch failed')`: that one is the world's, not a bug.
 */
export function isProgrammerError(err: unknown): boolean {
  if (err instanceof TypeError && err.message === 'fetch failed') return false;
  return (
    err instanceof TypeError ||
    err instanceof RangeError ||
    err instanceof ReferenceError ||
    err instanceof SyntaxError
  );
}

/**
 * Normalises anything thrown into an AppError. A programmer error is `APP_ERR_PROGRAMMER`, not
 * retriable; any other unknown error is `APP_ERR_UNEXPECTED`, retriable: it may be transient (a
 * socket reset a library did not classify), and the consumer runner bounds its retries
 * (CONSUMER_MAX_RETRIES) before it dead-letters the message.
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isProgrammerError(err)) {
    return new AppError('APP_ERR_PROGRAMMER', `${(err as Error).name}: ${message}`, { cause: err });
  }
  return new AppError('APP_ERR_UNEXPECTED', message, { cause: err });
}
