import { z } from 'zod';
import {
  catalog,
  common,
  consoleApi as api,
  ingestor as ing,
  preprocessor as pre,
  publisher as pub,
  qualityGate as qg,
  retrainPolicy as rtp,
} from '@tributary/api';
import { AppError } from '@tributary/errors';
import { type HttpServer } from '@tributary/runtime';
import type { Logger } from '@tributary/telemetry';
import type { DeadLetterBox } from '../../data-access/dead-letter-box.ts';
import type { Services } from '../../data-access/service-client.ts';
import type { LiveBatches } from './live.ts';
import { sessionOf } from './session.ts';

export interface ApiDeps {
  services: Services;
  deadLetters: DeadLetterBox;
  live: LiveBatches;
  links: { jaeger: string | undefined; mlflow: string | undefined };
  logger: Logger;
}

const tags = ['console'];
const security = [{ sessionCookie: [] }];
const errors = { 400: common.errorBody, 401: common.errorBody, 502: common.errorBody, 503: common.errorBody };
const notFound = { 404: common.errorBody, ...errors };

/** The console's read API over the services' admin APIs, and its two actions (replay, threshold). */
export function registerApi(scope: HttpServer, deps: ApiDeps): void {
  const { ingestor, preprocessor, qualityGate, retrainPolicy, publisher } = deps.services;

  scope.get(
    '/api/links',
    { schema: { summary: 'Links to the trace and model UIs', tags, security, response: { 200: api.links } } },
    () => deps.links,
  );

  // Every declared dataset with its current master, freshness, contracts, policies and jobs.
  scope.get(
    '/api/datasets',
    {
      schema: {
        summary: 'Every declared dataset with its current master',
        tags,
        security,
        response: { 200: api.datasetList, ...errors },
      },
    },
    async () => {
      const { datasets } = await ingestor.get('/admin/catalog/datasets', catalog.catalogDatasets);
      return {
        datasets: await Promise.all(
          datasets.map(async (d) => ({
            ...d,
            master:
              (await preprocessor.find(`/masters/${encodeURIComponent(d.name)}`, pre.currentMaster)) ?? null,
          })),
        ),
      };
    },
  );

  // One dataset: its declaration, its master versions (row count over time) and its audit.
  scope.get(
    '/api/datasets/:name',
    {
      schema: {
        summary: 'One dataset: its declaration, master versions and audit',
        tags,
        security,
        params: api.nameParams,
        response: { 200: api.datasetDetail, ...notFound },
      },
    },
    async (req) => {
      const name = encodeURIComponent(req.params.name);
      const dataset = await ingestor.find(`/admin/catalog/datasets/${name}`, catalog.storedDataset);
      if (!dataset) throw new AppError('CON_ERR_NOT_FOUND', `no dataset ${req.params.name}`);
      const [versions, history] = await Promise.all([
        preprocessor.get(`/masters/${name}/versions`, pre.masterVersions, { limit: 200 }),
        ingestor.get('/admin/catalog/history', catalog.catalogHistory, {
          name: req.params.name,
          limit: 50,
        }),
      ]);
      return { dataset, versions: versions.versions, changes: history.changes };
    },
  );

  scope.get(
    '/api/batches',
    {
      schema: {
        summary: 'The latest batches',
        tags,
        security,
        querystring: api.listQuery,
        response: { 200: ing.batchList, ...errors },
      },
    },
    async (req) =>
      ingestor.get('/admin/batches', ing.batchList, {
        dataset: req.query.dataset,
        limit: req.query.limit,
      }),
  );

  // Server-sent events: `snapshot` (the list), then `batch` for each new or changed batch.
  scope.get(
    '/api/batches/live',
    {
      schema: {
        summary:
          'Server-sent events: `snapshot` (the batch list), then `batch` for each new or changed batch',
        tags,
        security,
        response: {
          200: { description: 'An event stream', content: { 'text/event-stream': { schema: z.string() } } },
        },
      },
    },
    async (_req, reply) => {
      reply.hijack();
      await deps.live.watch(reply.raw);
    },
  );

  // One batch: its stages, files and checksums, and the preprocessor's rejection report.
  scope.get(
    '/api/batches/:id',
    {
      schema: {
        summary: 'One batch: its stages, files, rejection report and master version',
        tags,
        security,
        params: api.idParams,
        response: { 200: api.batchDetail, ...notFound },
      },
    },
    async (req) => {
      const id = encodeURIComponent(req.params.id);
      const [batch, report] = await Promise.all([
        ingestor.find(`/batches/${id}`, ing.batchView),
        preprocessor.find(`/admin/batches/${id}/report`, pre.rejectionReport),
      ]);
      if (!batch) throw new AppError('CON_ERR_NOT_FOUND', `no batch ${req.params.id}`);
      // The raw snapshot's files, from its DVC directory object.
      const files = batch.raw_md5
        ? await preprocessor.find(
            `/admin/dvc/directories/${encodeURIComponent(batch.raw_md5)}`,
            pre.dvcDirectory,
          )
        : undefined;
      const version = batch.merge?.master_version;
      const master =
        version === null || version === undefined
          ? null
          : ((await preprocessor.find(
              `/masters/${encodeURIComponent(batch.dataset)}/versions/${version}`,
              pre.masterVersion,
            )) ?? null);
      return { batch, report: report ?? null, master, files: files?.files ?? [] };
    },
  );

  scope.get(
    '/api/jobs',
    { schema: { summary: 'The refresh jobs', tags, security, response: { 200: qg.jobList, ...errors } } },
    () => qualityGate.get('/admin/jobs', qg.jobList),
  );

  // When each task of each attempt of a run started (empty from quality-gates that do not record it).
  const tasksOf = async (run: qg.RefreshRun) =>
    (await qualityGate.find(`/admin/runs/${encodeURIComponent(run.datasetVersion)}/tasks`, qg.runTasks))
      ?.tasks ?? [];

  scope.get(
    '/api/runs',
    {
      schema: {
        summary: 'Refresh runs with their task timings',
        tags,
        security,
        querystring: api.listQuery,
        response: { 200: api.runsList, ...errors },
      },
    },
    async (req) => {
      const { query } = req;
      const { runs } = await qualityGate.get('/admin/runs', qg.runList, {
        job: query.job,
        dataset: query.dataset,
        limit: query.limit,
      });
      return { runs: await Promise.all(runs.map(async (r) => ({ ...r, tasks: await tasksOf(r) }))) };
    },
  );

  // One run: its settings, states and timing, and its quality_report.json.
  scope.get(
    '/api/runs/:version',
    {
      schema: {
        summary: 'One run and its quality report',
        tags,
        security,
        params: api.versionParams,
        response: { 200: api.runDetail, ...notFound },
      },
    },
    async (req) => {
      const version = encodeURIComponent(req.params.version);
      const run = await qualityGate.find(`/admin/runs/${version}`, qg.refreshRun);
      if (!run) throw new AppError('CON_ERR_NOT_FOUND', `no run ${req.params.version}`);
      const [report, tasks] = await Promise.all([
        run.reportUri ? qualityGate.find(`/admin/runs/${version}/report`, qg.qualityReport) : undefined,
        tasksOf(run),
      ]);
      return { run: { ...run, tasks }, report: report ?? null };
    },
  );

  // Each gate metric of a job's runs, oldest first, with its threshold (the trend chart).
  scope.get(
    '/api/trends',
    {
      schema: {
        summary: "Each gate metric of a job's runs, oldest first",
        tags,
        security,
        querystring: api.listQuery,
        response: { 200: api.trends, ...errors },
      },
    },
    async (req) => {
      const { runs } = await qualityGate.get('/admin/runs', qg.runList, {
        job: req.query.job,
        limit: Math.min(req.query.limit, 60),
      });
      const points = await Promise.all(
        runs
          .filter((r) => r.reportUri !== null)
          .map(async (r) => {
            const report = await qualityGate.find(
              `/admin/runs/${encodeURIComponent(r.datasetVersion)}/report`,
              qg.qualityReport,
            );
            return {
              run: r.datasetVersion,
              job: r.job,
              startedAt: r.startedAt,
              status: r.status,
              metrics: report?.metrics ?? [],
            };
          }),
      );
      return { points: points.reverse() };
    },
  );

  scope.get(
    '/api/lineage',
    {
      schema: {
        summary: 'The lineage chain of a batch',
        tags,
        security,
        querystring: api.lineageQuery,
        response: { 200: pre.lineage, ...notFound },
      },
    },
    async (req) => {
      const lineage = await preprocessor.find('/admin/lineage', pre.lineage, {
        batch_id: req.query.batch_id,
      });
      if (!lineage) throw new AppError('CON_ERR_NOT_FOUND', `no lineage of ${req.query.batch_id}`);
      return lineage;
    },
  );

  scope.get(
    '/api/published',
    {
      schema: {
        summary: 'Published dataset versions',
        tags,
        security,
        response: { 200: pub.publishedList, ...errors },
      },
    },
    () => publisher.get('/admin/catalog', pub.publishedList),
  );

  scope.get(
    '/api/decisions',
    {
      schema: {
        summary: 'Retrain decisions',
        tags,
        security,
        querystring: api.listQuery,
        response: { 200: rtp.decisionList, ...errors },
      },
    },
    async (req) =>
      retrainPolicy.get('/admin/decisions', rtp.decisionList, {
        dataset: req.query.dataset,
        limit: req.query.limit,
      }),
  );

  scope.get(
    '/api/dead-letters',
    {
      schema: {
        summary: 'Dead letters of every service',
        tags,
        security,
        response: { 200: api.deadLetters, ...errors },
      },
    },
    async () => ({
      services: await deps.deadLetters.services(),
      letters: await deps.deadLetters.list(),
    }),
  );

  // Replays one dead letter to where it came from (admin, CSRF-checked by the session guard).
  scope.post(
    '/api/dead-letters/:service/replay',
    {
      schema: {
        summary: 'Replay one dead letter (admin)',
        tags,
        security,
        params: api.serviceParams,
        body: api.replayBody,
        response: { 200: api.replayResults, 409: common.errorBody, ...notFound },
      },
    },
    async (req) => {
      const { body } = req;
      const { service } = req.params;
      if (!(await deps.deadLetters.services()).includes(service)) {
        throw new AppError('CON_ERR_NOT_FOUND', `no dead-letter topic of service ${service}`);
      }
      const actor = `console:${sessionOf(req).role}`;
      try {
        const results = await deps.deadLetters.replay(service, `${body.partition}:${body.offset}`, actor);
        deps.logger.info(
          { service, partition: body.partition, offset: body.offset, results },
          'dead letter replayed',
        );
        return { results };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new AppError('CON_ERR_REPLAY_REFUSED', message, { cause: err });
      }
    },
  );

  // Thresholds and declarations with their change history.
  scope.get(
    '/api/settings',
    {
      schema: {
        summary: 'Thresholds and declarations with their change history',
        tags,
        security,
        response: { 200: api.settings, ...errors },
      },
    },
    async () => {
      const [threshold, thresholdAudit, catalogHistory, jobs] = await Promise.all([
        retrainPolicy.get('/admin/settings/retrain-threshold', rtp.thresholdSetting),
        retrainPolicy.get('/admin/settings/retrain-threshold/audit', rtp.thresholdAudit, {
          limit: 50,
        }),
        ingestor.get('/admin/catalog/history', catalog.catalogHistory, { limit: 100 }),
        qualityGate.get('/admin/jobs', qg.jobList),
      ]);
      const baselines = await Promise.all(
        [...new Set(jobs.jobs.map((j) => j.baseline))].map(async (name) => ({
          name,
          changes:
            (await qualityGate.find(`/admin/baselines/${encodeURIComponent(name)}/audit`, qg.baselineAudit))
              ?.changes ?? [],
        })),
      );
      return {
        retrainThreshold: { current: threshold, changes: thresholdAudit.changes },
        catalog: catalogHistory.changes,
        baselines,
      };
    },
  );

  scope.put(
    '/api/settings/retrain-threshold',
    {
      schema: {
        summary: 'Change RETRAIN_THRESHOLD_ROWS (admin)',
        tags,
        security,
        body: api.consoleThresholdBody,
        response: { 200: rtp.thresholdChange, ...errors },
      },
    },
    async (req) =>
      retrainPolicy.send('PUT', '/admin/settings/retrain-threshold', rtp.thresholdChange, {
        value: req.body.value,
        actor: 'console',
      }),
  );
}
