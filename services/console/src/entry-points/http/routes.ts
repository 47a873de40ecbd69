import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '@tributary/errors';
import { parseRequest } from '@tributary/runtime';
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

/** A catalog entry as the ingestor answers it: the console reads its name and passes the rest on. */
interface Dataset {
  name: string;
  [field: string]: unknown;
}
interface MasterVersion {
  version: number;
  row_count: number;
  committed_at: string;
  [field: string]: unknown;
}
interface Run {
  datasetVersion: string;
  job: string;
  status: string;
  reportUri: string | null;
  startedAt: string;
  [field: string]: unknown;
}

const limitQuery = z.object({
  dataset: z.string().trim().min(1).optional(),
  job: z.string().trim().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const replayBody = z.object({
  partition: z.number().int().min(0),
  offset: z.string().regex(/^\d+$/, 'expected a whole number as a string'),
});
const thresholdBody = z.object({ value: z.number().int().min(0) });
const lineageQuery = z.object({ batch_id: z.string().trim().min(1) });
const SERVICE = /^[a-z0-9-]{1,64}$/;

/** The console's read API over the services' admin APIs, and its two actions (replay, threshold). */
export function registerApi(scope: FastifyInstance, deps: ApiDeps): void {
  const { ingestor, preprocessor, qualityGate, retrainPolicy, publisher } = deps.services;

  scope.get('/api/links', () => deps.links);

  // Every declared dataset with its current master, freshness, contracts, policies and jobs.
  scope.get('/api/datasets', async () => {
    const { datasets } = await ingestor.get<{ datasets: Dataset[] }>('/admin/catalog/datasets');
    return {
      datasets: await Promise.all(
        datasets.map(async (d) => ({
          ...d,
          master: (await preprocessor.find<MasterVersion>(`/masters/${encodeURIComponent(d.name)}`)) ?? null,
        })),
      ),
    };
  });

  // One dataset: its declaration, its master versions (row count over time) and its audit.
  scope.get('/api/datasets/:name', async (req: FastifyRequest<{ Params: { name: string } }>) => {
    const name = encodeURIComponent(req.params.name);
    const dataset = await ingestor.find<Dataset>(`/admin/catalog/datasets/${name}`);
    if (!dataset) throw new AppError('CON_ERR_NOT_FOUND', `no dataset ${req.params.name}`);
    const [versions, history] = await Promise.all([
      preprocessor.get<{ versions: MasterVersion[] }>(`/masters/${name}/versions`, { limit: 200 }),
      ingestor.get<{ changes: unknown[] }>('/admin/catalog/history', { name: req.params.name, limit: 50 }),
    ]);
    return { dataset, versions: versions.versions, changes: history.changes };
  });

  scope.get('/api/batches', async (req, reply) => {
    const query = parseRequest('CON', limitQuery, req.query, reply);
    if (!query) return reply;
    return ingestor.get('/admin/batches', { dataset: query.dataset, limit: query.limit });
  });

  // Server-sent events: `snapshot` (the list), then `batch` for each new or changed batch.
  scope.get('/api/batches/live', async (_req, reply) => {
    reply.hijack();
    await deps.live.watch(reply.raw);
  });

  // One batch: its stages, files and checksums, and the preprocessor's rejection report.
  scope.get('/api/batches/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const id = encodeURIComponent(req.params.id);
    const [batch, report] = await Promise.all([
      ingestor.find<{
        dataset: string;
        raw_md5: string | null;
        merge: { master_version: number | null } | null;
      }>(`/batches/${id}`),
      preprocessor.find(`/admin/batches/${id}/report`),
    ]);
    if (!batch) throw new AppError('CON_ERR_NOT_FOUND', `no batch ${req.params.id}`);
    // The raw snapshot's files, from its DVC directory object.
    const files = batch.raw_md5
      ? await preprocessor.find<{ files: unknown[] }>(
          `/admin/dvc/directories/${encodeURIComponent(batch.raw_md5)}`,
        )
      : undefined;
    const version = batch.merge?.master_version;
    const master =
      version === null || version === undefined
        ? null
        : ((await preprocessor.find(`/masters/${encodeURIComponent(batch.dataset)}/versions/${version}`)) ??
          null);
    return { batch, report: report ?? null, master, files: files?.files ?? [] };
  });

  scope.get('/api/jobs', () => qualityGate.get('/admin/jobs'));

  // When each task of each attempt of a run started (empty from quality-gates that do not record it).
  const tasksOf = async (run: Run) =>
    (
      await qualityGate.find<{ tasks: unknown[] }>(
        `/admin/runs/${encodeURIComponent(run.datasetVersion)}/tasks`,
      )
    )?.tasks ?? [];

  scope.get('/api/runs', async (req, reply) => {
    const query = parseRequest('CON', limitQuery, req.query, reply);
    if (!query) return reply;
    const { runs } = await qualityGate.get<{ runs: Run[] }>('/admin/runs', {
      job: query.job,
      dataset: query.dataset,
      limit: query.limit,
    });
    return { runs: await Promise.all(runs.map(async (r) => ({ ...r, tasks: await tasksOf(r) }))) };
  });

  // One run: its settings, states and timing, and its quality_report.json.
  scope.get('/api/runs/:version', async (req: FastifyRequest<{ Params: { version: string } }>) => {
    const version = encodeURIComponent(req.params.version);
    const run = await qualityGate.find<Run>(`/admin/runs/${version}`);
    if (!run) throw new AppError('CON_ERR_NOT_FOUND', `no run ${req.params.version}`);
    const [report, tasks] = await Promise.all([
      run.reportUri ? qualityGate.find(`/admin/runs/${version}/report`) : undefined,
      tasksOf(run),
    ]);
    return { run: { ...run, tasks }, report: report ?? null };
  });

  // Each gate metric of a job's runs, oldest first, with its threshold (the trend chart).
  scope.get('/api/trends', async (req, reply) => {
    const query = parseRequest('CON', limitQuery, req.query, reply);
    if (!query) return reply;
    const { runs } = await qualityGate.get<{ runs: Run[] }>('/admin/runs', {
      job: query.job,
      limit: Math.min(query.limit, 60),
    });
    const points = await Promise.all(
      runs
        .filter((r) => r.reportUri !== null)
        .map(async (r) => {
          const report = await qualityGate.find<{ metrics: unknown[] }>(
            `/admin/runs/${encodeURIComponent(r.datasetVersion)}/report`,
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
  });

  scope.get('/api/lineage', async (req, reply) => {
    const query = parseRequest('CON', lineageQuery, req.query, reply);
    if (!query) return reply;
    const lineage = await preprocessor.find('/admin/lineage', { batch_id: query.batch_id });
    if (!lineage) throw new AppError('CON_ERR_NOT_FOUND', `no lineage of ${query.batch_id}`);
    return lineage;
  });

  scope.get('/api/published', () => publisher.get('/admin/catalog'));

  scope.get('/api/decisions', async (req, reply) => {
    const query = parseRequest('CON', limitQuery, req.query, reply);
    if (!query) return reply;
    return retrainPolicy.get('/admin/decisions', { dataset: query.dataset, limit: query.limit });
  });

  scope.get('/api/dead-letters', async () => ({
    services: await deps.deadLetters.services(),
    letters: await deps.deadLetters.list(),
  }));

  // Replays one dead letter to where it came from (admin, CSRF-checked by the session guard).
  scope.post(
    '/api/dead-letters/:service/replay',
    async (req: FastifyRequest<{ Params: { service: string } }>, reply) => {
      const body = parseRequest('CON', replayBody, req.body ?? {}, reply);
      if (!body) return reply;
      const { service } = req.params;
      if (!SERVICE.test(service) || !(await deps.deadLetters.services()).includes(service)) {
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
  scope.get('/api/settings', async () => {
    const [threshold, thresholdAudit, catalogHistory, jobs] = await Promise.all([
      retrainPolicy.get('/admin/settings/retrain-threshold'),
      retrainPolicy.get<{ changes: unknown[] }>('/admin/settings/retrain-threshold/audit', { limit: 50 }),
      ingestor.get<{ changes: unknown[] }>('/admin/catalog/history', { limit: 100 }),
      qualityGate.get<{ jobs: { baseline: string }[] }>('/admin/jobs'),
    ]);
    const baselines = await Promise.all(
      [...new Set(jobs.jobs.map((j) => j.baseline))].map(async (name) => ({
        name,
        changes:
          (
            await qualityGate.find<{ changes: unknown[] }>(
              `/admin/baselines/${encodeURIComponent(name)}/audit`,
            )
          )?.changes ?? [],
      })),
    );
    return {
      retrainThreshold: { current: threshold, changes: thresholdAudit.changes },
      catalog: catalogHistory.changes,
      baselines,
    };
  });

  scope.put('/api/settings/retrain-threshold', async (req, reply) => {
    const body = parseRequest('CON', thresholdBody, req.body ?? {}, reply);
    if (!body) return reply;
    return retrainPolicy.send('PUT', '/admin/settings/retrain-threshold', {
      value: body.value,
      actor: 'console',
    });
  });
}
