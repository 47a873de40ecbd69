import type { AppError } from './app-error.ts';

/**
 * The one error body of every HTTP route of every service:
 * `{ "error": { "code": "...", "message": "...", "details"?: {...} } }`. `code` is a catalog code.
 */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** The body an AppError is answered with; `details` only when it has some. */
export function errorBody(err: AppError): ErrorBody {
  const details = err.details;
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(Object.keys(details).length > 0 ? { details: { ...details } } : {}),
    },
  };
}

/** The error of an answer's body, for clients; undefined when the body is not an error body. */
export function parseErrorBody(text: string): ErrorBody['error'] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message, details } = error as Record<string, unknown>;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  return {
    code,
    message,
    ...(typeof details === 'object' && details !== null
      ? { details: details as Record<string, unknown> }
      : {}),
  };
}
