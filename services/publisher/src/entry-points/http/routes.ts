import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { isAppError } from '@tributary/errors';
import type { PgPublishRepository } from '../../data-access/publish-repository.ts';

export interface AdminDeps {
  /** Bearer token every /admin request must carry. */
  adminToken: string;
  repo: PgPublishRepository;
  sweep: () => Promise<{ swept: string[] }>;
}

const catalogQuery = z.object({
  dataset: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** Admin routes of the publisher: the metadata catalog, archive records and a sweep on demand. */
export function registerRoutes(http: FastifyInstance, deps: AdminDeps): void {
  const expected = digest(deps.adminToken);
  void http.register(
    (admin, _opts, done) => {
      admin.addHook('onRequest', async (req, reply) => {
        const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
        if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
          await reply
            .code(401)
            .header('www-authenticate', 'Bearer')
            .send(problem('PUB_ERR_UNAUTHORIZED', 'a valid admin bearer token is required'));
        }
      });
      admin.setErrorHandler(async (err, _req, reply) => {
        const message = err instanceof Error ? err.message : String(err);
        if (isAppError(err)) return reply.code(err.retriable ? 503 : 500).send(problem(err.code, message));
        const status = (err as { statusCode?: number }).statusCode ?? 500;
        return reply.code(status).send(problem('PUB_ERR_ADMIN', message));
      });

      admin.get('/catalog', async (req, reply) => {
        const query = parse(catalogQuery, req.query, reply);
        if (!query) return reply;
        return { datasets: await deps.repo.list(query.dataset, query.limit) };
      });

      admin.get<{ Params: { version: string } }>('/archives/:version', async (req, reply) => {
        const archive = await deps.repo.findArchive(req.params.version);
        if (!archive)
          return reply.code(404).send(problem('PUB_ERR_NOT_FOUND', `no archive of ${req.params.version}`));
        return archive;
      });

      // Deletes the archives older than the retention now, instead of at the next sweep.
      admin.post('/archives/sweep', () => deps.sweep());
      done();
    },
    { prefix: '/admin' },
  );
}

/** Parses input with a schema, or answers 400 naming every problem and returns undefined. */
function parse<S extends z.ZodType>(schema: S, input: unknown, reply: FastifyReply): z.output<S> | undefined {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
  void reply.code(400).send(problem('PUB_ERR_BAD_REQUEST', problems.join('; ')));
  return undefined;
}

function problem(code: string, message: string) {
  return { error: { code, message } };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
