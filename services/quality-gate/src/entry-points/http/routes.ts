import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { baselineSchema as baselineBody } from '@tributary/catalog';
import { AppError, type ErrorCode } from '@tributary/errors';
import { parseRequest, registerAdminRoutes, sendError } from '@tributary/runtime';
import type { Logger } from '@tributary/telemetry';
import type { BaselinesRepository } from '../../data-access/baselines-repository.ts';
import type { RunsRepository } from '../../data-access/runs-repository.ts';
import type { JobSettings } from '../../domain/ports.ts';
import type { RefreshJobs } from '../../domain/refresh-jobs.ts';
import type { RunRefresh } from '../refresh-runner.ts';

export interface AdminDeps {
  /** Bearer token every /admin request must carry. */
  adminToken: string;
  /** Recorded as the actor of a baseline change when the request names none. */
  tokenName: string;
  jobs: RefreshJobs;
  runs: RunsRepository;
  baselines: BaselinesRepository;
  run: RunRefresh;
  /** Aborts the engine work of a run this replica executes, once its cancel is stored. */
  cancellations?: { cancelled(datasetVersion: string, reason: string): void };
  /** Reads a run's quality_report.json by its URI (reports are not served without it). */
  artifacts?: { read(uri: string): Promise<Buffer | undefined> };
  logger: Logger;
}

/** Header naming the person or system behind an admin change, for the audit. */
export const ACTOR_HEADER = 'x-tributary-actor';

const name = z.string().min(1);
const actorSchema = z.string().trim().min(1).max(200);
// `job` names the job (evaluation set); `dataset` is the body of before the catalog: a job's name
// too, or a declared dataset with one job. With neither, the deployment's only job.
const refreshBody = z.object({ job: name.optional(), dataset: name.optional() });
const runsQuery = z.object({
  job: name.optional(),
  dataset: name.optional(),
  master_version: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const nameParam = z.object({ name: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/) });
const actorQuery = z.object({ actor: actorSchema.optional() });
const auditQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });
const cancelBody = z.object({ reason: z.string().trim().min(1).max(500).optional() });

/**
 * Admin routes of the quality-gate (health, readiness and metrics come from the runtime): the
 * refresh jobs, a manual run of one, its runs and their cancel, and the baselines with their audit.
 * All need the admin token.
 */
export function registerRoutes(http: FastifyInstance, deps: AdminDeps): void {
  registerAdminRoutes(http, { token: deps.adminToken, area: 'QG' }, (admin) => {
    admin.get('/jobs', async () => ({ jobs: (await deps.jobs.refreshed()).map(describeJob) }));

    // Runs the job now and answers its outcome (the run is short: a sample of the sources).
    admin.post('/refresh', async (req, reply) => {
      const body = parseRequest('QG', refreshBody, req.body ?? {}, reply);
      if (!body) return reply;
      const job = await chooseJob(deps.jobs, body, reply);
      if (!job) return reply;
      const result = await deps.run({ job: job.job, trigger: 'MANUAL' });
      const run =
        result.datasetVersion === undefined ? undefined : await deps.runs.get(result.datasetVersion);
      if (!run) {
        throw new AppError('QG_ERR_UNKNOWN_JOB', `refresh job ${job.job} is no longer declared`);
      }
      const status = run.status === 'passed' ? 200 : run.status === 'retrying' ? 202 : 422;
      return reply.code(status).send(run);
    });

    admin.get('/runs', async (req, reply) => {
      const query = parseRequest('QG', runsQuery, req.query, reply);
      if (!query) return reply;
      const filter = { job: query.job, dataset: query.dataset, masterVersion: query.master_version };
      return { runs: await deps.runs.list(query.limit, filter) };
    });

    admin.get('/runs/:version', async (req: FastifyRequest<{ Params: { version: string } }>) => {
      const run = await deps.runs.get(req.params.version);
      if (!run) throw new AppError('QG_ERR_NOT_FOUND', `no run ${req.params.version}`);
      return run;
    });

    // Cancels a running or parked run: stored at once, its engine work (a Ray job, DuckDB's query)
    // stopped by the replica executing it; it announces nothing. 409 once the run has ended.
    admin.post(
      '/runs/:version/cancel',
      async (req: FastifyRequest<{ Params: { version: string } }>, reply) => {
        const query = parseRequest('QG', actorQuery, req.query, reply);
        const body = query && parseRequest('QG', cancelBody, req.body ?? {}, reply);
        if (!query || !body) return reply;
        // Who cancels: X-Tributary-Actor, else ?actor=, else the token's name (as for baselines).
        const header = actorSchema.safeParse(req.headers[ACTOR_HEADER]);
        const actor = header.success ? header.data : (query.actor ?? deps.tokenName);
        const reason = `cancelled by ${actor}${body.reason === undefined ? '' : `: ${body.reason}`}`;
        const version = req.params.version;
        const run = await deps.runs.cancel(version, reason);
        if (!run) {
          const ended = await deps.runs.get(version);
          throw ended
            ? new AppError('QG_ERR_RUN_ENDED', `run ${version} has already ended (${ended.status})`)
            : new AppError('QG_ERR_NOT_FOUND', `no run ${version}`);
        }
        deps.cancellations?.cancelled(version, reason);
        deps.logger.info({ dataset_version: version, actor, reason }, 'refresh run cancelled');
        return run;
      },
    );

    // When each task of each attempt started (the runs grid and a run's task timings).
    admin.get('/runs/:version/tasks', async (req: FastifyRequest<{ Params: { version: string } }>) => {
      const run = await deps.runs.get(req.params.version);
      if (!run) throw new AppError('QG_ERR_NOT_FOUND', `no run ${req.params.version}`);
      return { tasks: await deps.runs.tasks(req.params.version) };
    });

    // The run's quality_report.json: each gate metric with its value, baseline, delta and threshold.
    admin.get(
      '/runs/:version/report',
      async (req: FastifyRequest<{ Params: { version: string } }>, reply) => {
        const run = await deps.runs.get(req.params.version);
        const body = run?.reportUri ? await deps.artifacts?.read(run.reportUri) : undefined;
        if (!body) {
          throw new AppError('QG_ERR_NOT_FOUND', `no quality report of run ${req.params.version}`);
        }
        return reply.header('content-type', 'application/json').send(body);
      },
    );

    admin.get('/baselines/:name', async (req, reply) => {
      const params = parseRequest('QG', nameParam, req.params, reply);
      if (!params) return reply;
      const baseline = await deps.baselines.get(params.name);
      if (!baseline) throw new AppError('QG_ERR_NOT_FOUND', `no baseline ${params.name}`);
      return baseline;
    });

    // Replaces a baseline; the audit keeps who (X-Tributary-Actor, ?actor=, else the token's name) and the diff.
    admin.put('/baselines/:name', async (req, reply) => {
      const params = parseRequest('QG', nameParam, req.params, reply);
      const query = params && parseRequest('QG', actorQuery, req.query, reply);
      const body = query && parseRequest('QG', baselineBody, req.body ?? {}, reply);
      if (!params || !query || !body) return reply;
      const header = actorSchema.safeParse(req.headers[ACTOR_HEADER]);
      const actor = header.success ? header.data : (query.actor ?? deps.tokenName);
      const change = await deps.baselines.put(
        { name: params.name, ...body },
        { actor, tokenName: deps.tokenName },
      );
      deps.logger.info(
        { baseline: params.name, actor, action: change.action, diff: change.diff.map((d) => d.path) },
        'baseline changed',
      );
      return deps.baselines.get(params.name);
    });

    admin.get('/baselines/:name/audit', async (req, reply) => {
      const params = parseRequest('QG', nameParam, req.params, reply);
      const query = params && parseRequest('QG', auditQuery, req.query, reply);
      if (!params || !query) return reply;
      return { changes: await deps.baselines.history(params.name, query.limit) };
    });
  });
}

/** A job as the admin API lists it. */
function describeJob(j: JobSettings) {
  return {
    job: j.job,
    dataset: j.dataset,
    origin: j.origin,
    catalogRevision: j.catalogRevision,
    schedule: j.spec.schedule,
    onMasterVersioned: j.spec.on_master_versioned,
    baseline: j.spec.baseline.name,
    gate: j.spec.gate,
  };
}

/** The job a manual refresh names, or undefined with the error answered. */
async function chooseJob(
  jobs: RefreshJobs,
  body: { job?: string | undefined; dataset?: string | undefined },
  reply: FastifyReply,
): Promise<JobSettings | undefined> {
  const all = await jobs.refreshed();
  const names = all.map((j) => j.job).join(', ') || 'none';
  const fail = (code: ErrorCode, message: string) => {
    void sendError(reply, new AppError(code, message));
    return undefined;
  };
  if (body.job !== undefined) {
    return (
      all.find((j) => j.job === body.job) ??
      fail('QG_ERR_UNKNOWN_JOB', `no refresh job ${body.job} is declared (jobs: ${names})`)
    );
  }
  if (body.dataset !== undefined) {
    const named = all.find((j) => j.job === body.dataset);
    if (named) return named;
    const ofDataset = all.filter((j) => j.dataset === body.dataset);
    if (ofDataset.length === 1) return ofDataset[0];
    if (ofDataset.length > 1) {
      return fail(
        'QG_ERR_AMBIGUOUS_JOB',
        `dataset ${body.dataset} has ${ofDataset.length} refresh jobs (${ofDataset.map((j) => j.job).join(', ')}): name one as "job"`,
      );
    }
    return fail('QG_ERR_UNKNOWN_DATASET', `no refresh job of ${body.dataset} is declared (jobs: ${names})`);
  }
  if (all.length === 1) return all[0];
  return fail('QG_ERR_BAD_REQUEST', `name the refresh job to run as "job" (jobs: ${names})`);
}
