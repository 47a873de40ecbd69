import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseRequest, problem, registerAdminRoutes } from '@tributary/runtime';
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
  registerAdminRoutes(http, { token: deps.adminToken, area: 'QG' }, (admin) => {
    // Runs the refresh now and answers its outcome (the run is short: a sample of the sources).
    admin.post('/refresh', async (req, reply) => {
      const body = parseRequest('QG', refreshBody, req.body ?? {}, reply);
      if (!body) return reply;
      if (body.dataset !== deps.dataset) {
        return reply.code(404).send(problem('QG_ERR_UNKNOWN_DATASET', `this gate refreshes ${deps.dataset}`));
      }
      const result = await deps.run({ trigger: 'MANUAL' });
      const run =
        result.datasetVersion === undefined ? undefined : await deps.runs.get(result.datasetVersion);
      const status = run?.status === 'passed' ? 200 : run?.status === 'retrying' ? 202 : 422;
      return reply.code(status).send(run);
    });

    admin.get('/runs', async (req, reply) => {
      const query = parseRequest('QG', runsQuery, req.query, reply);
      if (!query) return reply;
      return { runs: await deps.runs.list(query.limit) };
    });

    admin.get('/runs/:version', async (req: FastifyRequest<{ Params: { version: string } }>, reply) => {
      const run = await deps.runs.get(req.params.version);
      if (!run) return reply.code(404).send(problem('QG_ERR_NOT_FOUND', `no run ${req.params.version}`));
      return run;
    });

    admin.get('/baselines/:name', async (req, reply) => {
      const params = parseRequest('QG', nameParam, req.params, reply);
      if (!params) return reply;
      const baseline = await deps.runs.baseline(params.name);
      if (!baseline) return reply.code(404).send(problem('QG_ERR_NOT_FOUND', `no baseline ${params.name}`));
      return baseline;
    });

    admin.put('/baselines/:name', async (req, reply) => {
      const params = parseRequest('QG', nameParam, req.params, reply);
      const body = params && parseRequest('QG', baselineBody, req.body ?? {}, reply);
      if (!params || !body) return reply;
      await deps.runs.putBaseline({ name: params.name, ...body });
      return deps.runs.baseline(params.name);
    });
  });
}
