import type { z } from 'zod';
import { common, preprocessor as api } from '@tributary/api';
import type { Pool } from '@tributary/db';
import { foundStart, queryLineage, type LineageQuery, type LineageSources } from '@tributary/lineage';
import { AppError } from '@tributary/errors';
import { registerAdminRoutes, type HttpServer } from '@tributary/runtime';
import { MasterVersionsReader } from '../../data-access/master-versions.ts';
import type { RejectionReports } from '../../data-access/rejection-reports.ts';
import { registerValidateRoute, type ValidateRouteDeps } from './validate-route.ts';

export interface RouteDeps {
  pool: Pool;
  adminToken: string;
  /** The other services' parts of a lineage chain (the master versions are read here). */
  lineageSources: LineageSources;
  /** Processed batches and their rejection reports. */
  reports?: RejectionReports;
  /** The dry run (POST /validate), when the app wires it. */
  validate?: ValidateRouteDeps;
}

const tags = ['preprocessor'];
const security = [{ adminToken: [] }];
const errors = common.adminErrors;

function lineageQueryOf(q: z.output<typeof api.lineageQuery>): LineageQuery {
  if (q.batch_id !== undefined) return { batchId: q.batch_id, dataset: q.dataset };
  if (q.master_version !== undefined) return { dataset: q.dataset!, masterVersion: q.master_version };
  return { datasetVersion: q.dataset_version!, dataset: q.dataset };
}

/** Routes of the preprocessor (health, readiness and metrics come from the runtime). */
export function registerRoutes(http: HttpServer, deps: RouteDeps): void {
  const versions = new MasterVersionsReader(deps.pool);

  // A producer's dry run: the checks a batch would go through, nothing stored (docs/ingestion.md).
  if (deps.validate) registerValidateRoute(http, deps.validate);

  // Lineage lives here because master versions are the hub of every chain: each batch merges into
  // one, and each quality run, publish and retrain request derives from one.
  registerAdminRoutes(http, { token: deps.adminToken, area: 'PRE' }, (admin) => {
    // The chain batch → raw snapshot → master version → quality report → published manifest → retrain
    // request, each link with its run (trace) id; a service that cannot be read makes its link unavailable.
    admin.get(
      '/lineage',
      {
        schema: {
          summary: 'The lineage chain of a batch, master version or dataset version',
          tags,
          security,
          querystring: api.lineageQuery,
          response: { 200: api.lineage, 404: common.errorBody, ...errors },
        },
      },
      async (req) => {
        const query = lineageQueryOf(req.query);
        const lineage = await queryLineage(query, deps.lineageSources);
        if (!foundStart(query, lineage)) {
          throw new AppError(
            'PRE_ERR_LINEAGE_NOT_FOUND',
            'no batch, master version or dataset version matches',
            {
              details: { lineage },
            },
          );
        }
        return lineage;
      },
    );

    // What became of a batch here and every row refused with its reasons (the console's batch page).
    admin.get(
      '/batches/:batchId/report',
      {
        schema: {
          summary: 'What became of a batch here, with every refused row',
          tags,
          security,
          params: api.batchIdParams,
          response: { 200: api.rejectionReport, 404: common.errorBody, ...errors },
        },
      },
      async (req) => {
        const report = await deps.reports?.find(req.params.batchId);
        if (!report) {
          throw new AppError('PRE_ERR_UNKNOWN_BATCH', `no batch ${req.params.batchId} was processed here`);
        }
        return report;
      },
    );

    // The files of a raw batch or master version by its DVC directory md5 (`<32 hex>.dir`).
    admin.get(
      '/dvc/directories/:md5',
      {
        schema: {
          summary: 'The files of a DVC directory',
          tags,
          security,
          params: api.md5Params,
          response: { 200: api.dvcDirectory, 404: common.errorBody, ...errors },
        },
      },
      async (req) => {
        const files = await deps.reports?.directory(req.params.md5);
        if (!files) {
          throw new AppError(
            'PRE_ERR_UNKNOWN_DIRECTORY',
            `no DVC directory ${req.params.md5} in the data store`,
          );
        }
        return { md5: req.params.md5, files };
      },
    );
  });

  // The current master of a dataset: version, CURRENT_MASTER_ROWS, checksum and where it is.
  http.get(
    '/masters/:dataset',
    {
      schema: {
        summary: 'The current master of a dataset',
        tags,
        params: api.datasetParams,
        response: { 200: api.currentMaster, 404: common.errorBody },
      },
    },
    async (req) => {
      const { rows } = await deps.pool.query<api.CurrentMaster & { committed_at: Date }>(
        `SELECT v.dataset, v.version, c.row_count, v.checksum, v.location, v.dvc_file, v.batch_ids, v.committed_at
           FROM current_master_rows c JOIN master_versions v ON v.dataset = c.dataset AND v.version = c.master_version
          WHERE c.dataset = $1`,
        [req.params.dataset],
      );
      const row = rows[0];
      if (!row) throw new AppError('PRE_ERR_NOT_FOUND', `no master of ${req.params.dataset}`);
      return { ...row, committed_at: row.committed_at.toISOString() };
    },
  );

  // Committed versions of a dataset, newest first; `?batch_id=` gives the version that merged a batch.
  http.get(
    '/masters/:dataset/versions',
    {
      schema: {
        summary: 'Committed versions of a dataset, newest first',
        tags,
        params: api.datasetParams,
        querystring: api.versionsQuery,
        response: { 200: api.masterVersions },
      },
    },
    async (req) => ({
      versions: await versions.list(req.params.dataset, {
        batchId: req.query.batch_id,
        limit: req.query.limit,
      }),
    }),
  );

  // One committed version: checksum, location, DVC file, the batches it merged and their raw checksums.
  http.get(
    '/masters/:dataset/versions/:version',
    {
      schema: {
        summary: 'One committed master version',
        tags,
        params: api.versionParams,
        response: { 200: api.masterVersion, 404: common.errorBody },
      },
    },
    async (req) => {
      const view = await versions.get(req.params.dataset, req.params.version);
      if (!view) {
        throw new AppError(
          'PRE_ERR_UNKNOWN_VERSION',
          `No version ${req.params.version} of ${req.params.dataset}`,
        );
      }
      return view;
    },
  );
}
