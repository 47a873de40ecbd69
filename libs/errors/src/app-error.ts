/**
 * The one error type of Tributary. `code` is stable (`<AREA>_ERR_<PROBLEM>`) so dashboards,
 * dead-letter headers and alerts can key on it; `retriable` is all the consumer runner reads:
 * retriable errors are retried with backoff, the others go straight to the dead-letter topic.
 */
export class AppError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    message: string,
    opts: { retriable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
    this.details = Object.freeze({ ...opts.details });
  }
}

/** True for an AppError, or anything carrying the same shape across realms. */
export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Normalises anything thrown into an AppError; unknown errors are assumed transient. */
export function toAppError(err: unknown, fallbackCode = 'APP_ERR_UNEXPECTED'): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AppError(fallbackCode, message, { retriable: true, cause: err });
}
