import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';
import { isAppError } from '@tributary/errors';

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
  http: FastifyInstance,
  opts: AdminScopeOptions,
  routes: (admin: FastifyInstance) => void,
): void {
  const expected = digest(opts.token);
  const badRequest = new Set(opts.badRequestCodes ?? []);
  void http.register(
    (admin, _opts, done) => {
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

/** Parses input with a schema, or answers 400 naming every problem and returns undefined. */
export function parseRequest<S extends z.ZodType>(
  area: string,
  schema: S,
  input: unknown,
  reply: FastifyReply,
): z.output<S> | undefined {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
  void reply.code(400).send(problem(`${area}_ERR_BAD_REQUEST`, problems.join('; ')));
  return undefined;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
