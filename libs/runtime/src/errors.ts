import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError, errorBody, isAppError, toAppError, type AreaWith } from '@tributary/errors';
import type { Logger } from '@tributary/telemetry';

/** The error-code area of a service's HTTP server: it has `_ERR_BAD_REQUEST` and `_ERR_NOT_FOUND` codes. */
export type HttpArea = AreaWith<'BAD_REQUEST'> & AreaWith<'NOT_FOUND'>;

/** Answers an AppError with its catalog status and the one error body. */
export function sendError(reply: FastifyReply, err: AppError, status = err.status): FastifyReply {
  return reply.code(status).send(errorBody(err));
}

/**
 * The one error handler and not-found handler of every service (set on the root server, so every
 * route and plugin inherits them; routes throw AppErrors instead of building bodies):
 * - an AppError is answered with its code's status;
 * - an HTTP-layer refusal (Fastify's 4xx: malformed JSON, a schema's validation, a body too large, an
 *   unsupported media type) is `<AREA>_ERR_BAD_REQUEST` with Fastify's status;
 * - anything else is `APP_ERR_PROGRAMMER` or `APP_ERR_UNEXPECTED`, 500, and logged.
 */
export function installErrorHandling(http: FastifyInstance, opts: { area: HttpArea; logger: Logger }): void {
  http.setErrorHandler(async (err, req, reply) => {
    const { status, error } = answerOf(err, opts.area);
    if (status >= 500) {
      opts.logger.error({ err, code: error.code, method: req.method, url: req.url }, 'request failed');
    }
    return sendError(reply, error, status);
  });
  http.setNotFoundHandler(async (req, reply) =>
    sendError(reply, new AppError(`${opts.area}_ERR_NOT_FOUND`, `no route ${req.method} ${req.url}`)),
  );
}

function answerOf(err: unknown, area: HttpArea): { status: number; error: AppError } {
  if (isAppError(err)) return { status: err.status, error: err };
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const message = err instanceof Error ? err.message : String(err);
    return { status: statusCode, error: new AppError(`${area}_ERR_BAD_REQUEST`, message, { cause: err }) };
  }
  const error = toAppError(err);
  return { status: error.status, error };
}
