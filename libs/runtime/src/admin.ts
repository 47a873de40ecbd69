import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';
import { AppError, type AreaWith } from '@tributary/errors';
import { sendError } from './errors.ts';

export interface AdminScopeOptions {
  /** Bearer token every /admin request must carry. */
  token: string;
  /** Error-code area of the service, e.g. `RTP` gives `RTP_ERR_UNAUTHORIZED`. */
  area: AreaWith<'UNAUTHORIZED'>;
}

/**
 * Registers a service's admin routes under `/admin`, behind a bearer token compared in constant
 * time. Their errors go to the server's one error handler (installErrorHandling).
 */
export function registerAdminRoutes(
  http: FastifyInstance,
  opts: AdminScopeOptions,
  routes: (admin: FastifyInstance) => void,
): void {
  const expected = digest(opts.token);
  void http.register(
    (admin, _opts, done) => {
      admin.addHook('onRequest', async (req, reply) => {
        const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
        if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
          await sendError(
            reply.header('www-authenticate', 'Bearer'),
            new AppError(`${opts.area}_ERR_UNAUTHORIZED`, 'a valid admin bearer token is required'),
          );
        }
      });
      routes(admin);
      done();
    },
    { prefix: '/admin' },
  );
}

/** Parses input with a schema, or answers 400 naming every problem and returns undefined. */
export function parseRequest<S extends z.ZodType>(
  area: AreaWith<'BAD_REQUEST'>,
  schema: S,
  input: unknown,
  reply: FastifyReply,
): z.output<S> | undefined {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
  void sendError(reply, new AppError(`${area}_ERR_BAD_REQUEST`, problems.join('; ')));
  return undefined;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
