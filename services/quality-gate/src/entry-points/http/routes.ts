import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isAppError } from '@tributary/errors';
import { baselineSchema as baselineBody } from '../../config.ts';
import type { RunsRepository } from '../../data-access/runs-repository.ts';
import type { RunRefresh } from '../refresh-runner.ts';

export interface AdminDeps {
  /** Bearer token every /admin request must carry. */
  adminToken: string;
  dataset: string;
  runs: RunsRepository;
  run: RunRefresh;
}

const refreshBody = z.object({ dataset: z.string().min(1) });
const runsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });
const nameParam = z.object({ name: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/) });

/**
 * Admin routes of the quality-gate (health, readiness and metrics come from the runtime): the
 * manual refresh, its runs, and the baselines. All need the admin token.
 */
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
            .send(problem('QG_ERR_UNAUTHORIZED', 'a valid admin bearer token is required'));
        }
      });
      admin.setErrorHandler(async (err, _req, reply) => {
        const message = err instanceof Error ? err.message : String(err);
        if (isAppError(err)) return reply.code(err.retriable ? 503 : 500).send(problem(err.code, message));
        const status = (err as { statusCode?: number }).statusCode ?? 500;
        return reply.code(status).send(problem('QG_ERR_ADMIN', message));
      });

      // Runs the refresh now and answers its outcome (the run is short: a sample of the sources).
      admin.post('/refresh', async (req, reply) => {
        const body = parse(refreshBody, req.body ?? {}, reply);
        if (!body) return reply;
        if (body.dataset !== deps.dataset) {
          return reply
            .code(404)
            .send(problem('QG_ERR_UNKNOWN_DATASET', `this gate refreshes ${deps.dataset}`));
        }
        const result = await deps.run({ trigger: 'MANUAL' });
        const run =
          result.datasetVersion === undefined ? undefined : await deps.runs.get(result.datasetVersion);
        const status = run?.status === 'passed' ? 200 : run?.status === 'retrying' ? 202 : 422;
        return reply.code(status).send(run);
      });

      admin.get('/runs', async (req, reply) => {
        const query = parse(runsQuery, req.query, reply);
        if (!query) return reply;
        return { runs: await deps.runs.list(query.limit) };
      });

      admin.get('/runs/:version', async (req: FastifyRequest<{ Params: { version: string } }>, reply) => {
        const run = await deps.runs.get(req.params.version);
        if (!run) return reply.code(404).send(problem('QG_ERR_NOT_FOUND', `no run ${req.params.version}`));
        return run;
      });

      admin.get('/baselines/:name', async (req, reply) => {
        const params = parse(nameParam, req.params, reply);
        if (!params) return reply;
        const baseline = await deps.runs.baseline(params.name);
        if (!baseline) return reply.code(404).send(problem('QG_ERR_NOT_FOUND', `no baseline ${params.name}`));
        return baseline;
      });

      admin.put('/baselines/:name', async (req, reply) => {
        const params = parse(nameParam, req.params, reply);
        const body = params && parse(baselineBody, req.body ?? {}, reply);
        if (!params || !body) return reply;
        await deps.runs.putBaseline({ name: params.name, ...body });
        return deps.runs.baseline(params.name);
      });
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
  void reply.code(400).send(problem('QG_ERR_BAD_REQUEST', problems.join('; ')));
  return undefined;
}

function problem(code: string, message: string) {
  return { error: { code, message } };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
