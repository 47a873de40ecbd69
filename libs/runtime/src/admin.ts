import { createHash, timingSafeEqual } from 'node:crypto';
import { isAppError } from '@tributary/errors';
import { withSchemas, type HttpServer } from './http.ts';

export interface AdminScopeOptions {
  /** Bearer token every /admin request must carry. */
  token: string;
  /** Error-code area of the service, e.g. `RTP` gives `RTP_ERR_UNAUTHORIZED`. */
  area: string;
  /** AppError codes that mean "the request was wrong" (400) rather than "we failed" (5xx). */
  badRequestCodes?: readonly string[];
}

/** The error body every admin route answers with. */
export function problem(code: string, message: string) {
  return { error: { code, message } };
}

/**
 * Registers a service's admin routes under `/admin`, behind a bearer token compared in constant
 * time, with one error mapping: a retriable AppError is 503, a bad-request code 400, others 500.
 */
export function registerAdminRoutes(
  http: HttpServer,
  opts: AdminScopeOptions,
  routes: (admin: HttpServer) => void,
): void {
  const expected = digest(opts.token);
  const badRequest = new Set(opts.badRequestCodes ?? []);
  void http.register(
    (plugin, _opts, done) => {
      const admin = withSchemas(plugin);
      admin.addHook('onRequest', async (req, reply) => {
        const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
        if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
          await reply
            .code(401)
            .header('www-authenticate', 'Bearer')
            .send(problem(`${opts.area}_ERR_UNAUTHORIZED`, 'a valid admin bearer token is required'));
        }
      });
      admin.setErrorHandler(async (err, _req, reply) => {
        const invalid = validationProblem(err);
        if (invalid) return reply.code(400).send(invalid);
        const message = err instanceof Error ? err.message : String(err);
        if (isAppError(err)) {
          const status = badRequest.has(err.code) ? 400 : err.retriable ? 503 : 500;
          return reply.code(status).send(problem(err.code, message));
        }
        const status = (err as { statusCode?: number }).statusCode ?? 500;
        return reply.code(status).send(problem(`${opts.area}_ERR_ADMIN`, message));
      });
      routes(admin);
      done();
    },
    { prefix: '/admin' },
  );
}

/** The code of a request that does not match its route's schema. */
export const VALIDATION_ERROR = 'HTTP_ERR_VALIDATION';

interface SchemaError {
  validation: { instancePath?: string; message?: string }[];
  validationContext?: string;
}

/**
 * The 400 body of a request that failed its route's schema, or undefined for any other error: the
 * message names each field (`querystring.limit: ...`), `details.issues` lists them.
 */
export function validationProblem(err: unknown) {
  const v = err as Partial<SchemaError> | null;
  if (typeof v !== 'object' || v === null || !Array.isArray(v.validation)) return undefined;
  const where = v.validationContext ?? 'request';
  const issues = v.validation.map((i) => {
    const field = (i.instancePath ?? '').split('/').filter(Boolean).join('.');
    return { in: where, field, message: i.message ?? 'invalid' };
  });
  const message = issues.map((i) => `${[i.in, i.field].filter(Boolean).join('.')}: ${i.message}`).join('; ');
  return { error: { code: VALIDATION_ERROR, message, details: { issues } } };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
