import type { FastifyReply } from 'fastify';
import { common, qualityGate as api } from '@tributary/api';
import { baselineSchema as baselineBody } from '@tributary/catalog';
import { AppError, type ErrorCode } from '@tributary/errors';
import { registerAdminRoutes, sendError, type HttpServer } from '@tributary/runtime';
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
export const ACTOR_HEADER = common.ACTOR_HEADER;

const tags = ['quality-gate'];
const security = [{ adminToken: [] }];
const errors = common.adminErrors;
const notFound = { 404: common.errorBody, ...errors };

/**
 * Admin routes of the quality-gate (health, readiness and metrics come from the runtime): the
 * refresh jobs, a manual run of one, its runs and their cancel, and the baselines with their audit.
 * All need the admin token.
 */
export function registerRoutes(http: HttpServer, deps: AdminDeps): void {
  registerAdminRoutes(http, { token: deps.adminToken, area: 'QG' }, (admin) => {
    admin.get(
      '/jobs',
      { schema: { summary: 'The refresh jobs', tags, security, response: { 200: api.jobList, ...errors } } },
      async () => ({ jobs: (await deps.jobs.refreshed()).map(describeJob) }),
    );

    // Runs the job now and answers its outcome (the run is short: a sample of the sources).
    admin.post(
      '/refresh',
      {
        schema: {
          summary: 'Run a refresh job now and answer its run (200 passed, 202 retrying, 422 failed)',
          tags,
          security,
          body: api.refreshBody,
          response: { 200: api.refreshRun, 202: api.refreshRun, 422: api.refreshRun, ...notFound },
        },
      },
      async (req, reply) => {
        const job = await chooseJob(deps.jobs, req.body ?? {}, reply);
        if (!job) return reply;
        const result = await deps.run({ job: job.job, trigger: 'MANUAL' });
        const run =
          result.datasetVersion === undefined ? undefined : await deps.runs.get(result.datasetVersion);
        if (!run) {
          throw new AppError('QG_ERR_UNKNOWN_JOB', `refresh job ${job.job} is no longer declared`);
        }
        const status = run.status === 'passed' ? 200 : run.status === 'retrying' ? 202 : 422;
        return reply.code(status).send(run);
      },
    );

    admin.get(
      '/runs',
      {
        schema: {
          summary: 'Refresh runs, newest first',
          tags,
          security,
          querystring: api.runsQuery,
          response: { 200: api.runList, ...errors },
        },
      },
      async (req) => {
        const { query } = req;
        const filter = { job: query.job, dataset: query.dataset, masterVersion: query.master_version };
        return { runs: await deps.runs.list(query.limit, filter) };
      },
    );

    admin.get(
      '/runs/:version',
      {
        schema: {
          summary: 'One run: its settings, states and timing',
          tags,
          security,
          params: api.runParams,
          response: { 200: api.refreshRun, ...notFound },
        },
      },
      async (req) => {
        const run = await deps.runs.get(req.params.version);
        if (!run) throw new AppError('QG_ERR_NOT_FOUND', `no run ${req.params.version}`);
        return run;
      },
    );

    // Cancels a running or parked run: stored at once, its engine work (a Ray job, DuckDB's query)
    // stopped by the replica executing it; it announces nothing. 409 once the run has ended.
    admin.post(
      '/runs/:version/cancel',
      {
        schema: {
          summary: 'Cancel a running or parked run (409 once it has ended)',
          tags,
          security,
          params: api.runParams,
          querystring: api.actorQuery,
          headers: common.actorHeaders,
          body: api.cancelBody,
          response: { 200: api.refreshRun, 409: common.errorBody, ...notFound },
        },
      },
      async (req) => {
        // Who cancels: X-Tributary-Actor, else ?actor=, else the token's name (as for baselines).
        const actor = req.headers[ACTOR_HEADER] ?? req.query.actor ?? deps.tokenName;
        const why = req.body?.reason;
        const reason = `cancelled by ${actor}${why === undefined ? '' : `: ${why}`}`;
        const { version } = req.params;
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
    admin.get(
      '/runs/:version/tasks',
      {
        schema: {
          summary: 'When each task of each attempt of a run started',
          tags,
          security,
          params: api.runParams,
          response: { 200: api.runTasks, ...notFound },
        },
      },
      async (req) => {
        const run = await deps.runs.get(req.params.version);
        if (!run) throw new AppError('QG_ERR_NOT_FOUND', `no run ${req.params.version}`);
        return { tasks: await deps.runs.tasks(req.params.version) };
      },
    );

    // The run's quality_report.json: each gate metric with its value, baseline, delta and threshold.
    admin.get(
      '/runs/:version/report',
      {
        schema: {
          summary: "A run's quality_report.json",
          tags,
          security,
          params: api.runParams,
          response: { 200: api.qualityReport, ...notFound },
        },
      },
      async (req, reply) => {
        const run = await deps.runs.get(req.params.version);
        const body = run?.reportUri ? await deps.artifacts?.read(run.reportUri) : undefined;
        if (!body) {
          throw new AppError('QG_ERR_NOT_FOUND', `no quality report of run ${req.params.version}`);
        }
        // A Buffer is sent as it is (never serialized), so the stored report goes out byte for byte.
        return reply.header('content-type', 'application/json').send(body as unknown as api.QualityReport);
      },
    );

    admin.get(
      '/baselines/:name',
      {
        schema: {
          summary: 'A baseline',
          tags,
          security,
          params: api.baselineParams,
          response: { 200: api.baseline, ...notFound },
        },
      },
      async (req) => {
        const baseline = await deps.baselines.get(req.params.name);
        if (!baseline) throw new AppError('QG_ERR_NOT_FOUND', `no baseline ${req.params.name}`);
        return baseline;
      },
    );

    // Replaces a baseline; the audit keeps who (X-Tributary-Actor, ?actor=, else the token's name) and the diff.
    admin.put(
      '/baselines/:name',
      {
        schema: {
          summary: 'Replace a baseline (audited)',
          tags,
          security,
          params: api.baselineParams,
          querystring: api.actorQuery,
          headers: common.actorHeaders,
          body: baselineBody,
          response: { 200: api.baseline, ...notFound },
        },
      },
      async (req) => {
        const { name } = req.params;
        const actor = req.headers[ACTOR_HEADER] ?? req.query.actor ?? deps.tokenName;
        const change = await deps.baselines.put({ name, ...req.body }, { actor, tokenName: deps.tokenName });
        deps.logger.info(
          { baseline: name, actor, action: change.action, diff: change.diff.map((d) => d.path) },
          'baseline changed',
        );
        const stored = await deps.baselines.get(name);
        if (!stored) throw new AppError('QG_ERR_NOT_FOUND', `no baseline ${name}`);
        return stored;
      },
    );

    admin.get(
      '/baselines/:name/audit',
      {
        schema: {
          summary: 'The changes of a baseline, newest first',
          tags,
          security,
          params: api.baselineParams,
          querystring: api.auditQuery,
          response: { 200: api.baselineAudit, ...errors },
        },
      },
      async (req) => ({ changes: await deps.baselines.history(req.params.name, req.query.limit) }),
    );
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
