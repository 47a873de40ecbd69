import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Pool } from '@tributary/db';
import { foundStart, queryLineage, type LineageQuery, type LineageSources } from '@tributary/lineage';
import { AppError } from '@tributary/errors';
import { parseRequest, registerAdminRoutes } from '@tributary/runtime';
import { MasterVersionsReader } from '../../data-access/master-versions.ts';
import type { RejectionReports } from '../../data-access/rejection-reports.ts';
import { registerValidateRoute, type ValidateRouteDeps } from './validate-route.ts';

const WHOLE = /^\d+$/;

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

const lineageQuery = z
  .object({
    batch_id: z.string().trim().min(1).optional(),
    dataset: z.string().trim().min(1).optional(),
    master_version: z.string().regex(WHOLE, 'expected a whole number').transform(Number).optional(),
    dataset_version: z.string().trim().min(1).optional(),
  })
  .refine(
    (q) => [q.batch_id, q.master_version, q.dataset_version].filter((v) => v !== undefined).length === 1,
    'give exactly one of batch_id, master_version or dataset_version',
  )
  .refine((q) => q.master_version === undefined || q.dataset !== undefined, {
    message: 'master_version needs dataset',
    path: ['dataset'],
  })
  .transform((q): LineageQuery => {
    if (q.batch_id !== undefined) return { batchId: q.batch_id, dataset: q.dataset };
    if (q.master_version !== undefined) return { dataset: q.dataset!, masterVersion: q.master_version };
    return { datasetVersion: q.dataset_version!, dataset: q.dataset };
  });

/** Routes of the preprocessor (health, readiness and metrics come from the runtime). */
export function registerRoutes(http: FastifyInstance, deps: RouteDeps): void {
  const versions = new MasterVersionsReader(deps.pool);

  // A producer's dry run: the checks a batch would go through, nothing stored (docs/ingestion.md).
  if (deps.validate) registerValidateRoute(http, deps.validate);

  // Lineage lives here because master versions are the hub of every chain: each batch merges into
  // one, and each quality run, publish and retrain request derives from one.
  registerAdminRoutes(http, { token: deps.adminToken, area: 'PRE' }, (admin) => {
    // The chain batch → raw snapshot → master version → quality report → published manifest → retrain
    // request, each link with its run (trace) id; a service that cannot be read makes its link unavailable.
    admin.get('/lineage', async (req, reply) => {
      const query = parseRequest('PRE', lineageQuery, req.query, reply);
      if (!query) return reply;
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
    });

    // What became of a batch here and every row refused with its reasons (the console's batch page).
    admin.get<{ Params: { batchId: string } }>('/batches/:batchId/report', async (req) => {
      const report = await deps.reports?.find(req.params.batchId);
      if (!report) {
        throw new AppError('PRE_ERR_UNKNOWN_BATCH', `no batch ${req.params.batchId} was processed here`);
      }
      return report;
    });

    // The files of a raw batch or master version by its DVC directory md5 (`<32 hex>.dir`).
    admin.get<{ Params: { md5: string } }>('/dvc/directories/:md5', async (req) => {
      const files = await deps.reports?.directory(req.params.md5);
      if (!files) {
        throw new AppError(
          'PRE_ERR_UNKNOWN_DIRECTORY',
          `no DVC directory ${req.params.md5} in the data store`,
        );
      }
      return { md5: req.params.md5, files };
    });
  });

  // The current master of a dataset: version, CURRENT_MASTER_ROWS, checksum and where it is.
  http.get<{ Params: { dataset: string } }>('/masters/:dataset', async (req) => {
    const { rows } = await deps.pool.query(
      `SELECT v.dataset, v.version, c.row_count, v.checksum, v.location, v.dvc_file, v.batch_ids, v.committed_at
         FROM current_master_rows c JOIN master_versions v ON v.dataset = c.dataset AND v.version = c.master_version
        WHERE c.dataset = $1`,
      [req.params.dataset],
    );
    if (rows.length === 0) throw new AppError('PRE_ERR_NOT_FOUND', `no master of ${req.params.dataset}`);
    return rows[0];
  });

  // Committed versions of a dataset, newest first; `?batch_id=` gives the version that merged a batch.
  http.get<{ Params: { dataset: string }; Querystring: { batch_id?: string; limit?: string } }>(
    '/masters/:dataset/versions',
    async (req) => {
      const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 500) {
        throw new AppError('PRE_ERR_BAD_REQUEST', 'limit must be 1..500');
      }
      const batchId = req.query.batch_id?.trim() || undefined;
      return { versions: await versions.list(req.params.dataset, { batchId, limit }) };
    },
  );

  // One committed version: checksum, location, DVC file, the batches it merged and their raw checksums.
  http.get<{ Params: { dataset: string; version: string } }>(
    '/masters/:dataset/versions/:version',
    async (req) => {
      if (!WHOLE.test(req.params.version)) {
        throw new AppError('PRE_ERR_BAD_REQUEST', 'version must be a whole number');
      }
      const view = await versions.get(req.params.dataset, Number(req.params.version));
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
