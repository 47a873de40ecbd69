import type { FastifyInstance } from 'fastify';
import type { Pool } from '@tributary/db';
import { MasterVersionsReader } from '../../data-access/master-versions.ts';

const WHOLE = /^\d+$/;

/** Admin routes of the preprocessor (health, readiness and metrics come from the runtime). */
export function registerRoutes(http: FastifyInstance, deps: { pool: Pool }): void {
  const versions = new MasterVersionsReader(deps.pool);

  // The current master of a dataset: version, CURRENT_MASTER_ROWS, checksum and where it is.
  http.get<{ Params: { dataset: string } }>('/masters/:dataset', async (req, reply) => {
    const { rows } = await deps.pool.query(
      `SELECT v.dataset, v.version, c.row_count, v.checksum, v.location, v.dvc_file, v.batch_ids, v.committed_at
         FROM current_master_rows c JOIN master_versions v ON v.dataset = c.dataset AND v.version = c.master_version
        WHERE c.dataset = $1`,
      [req.params.dataset],
    );
    if (rows.length === 0) return reply.code(404).send({ error: 'no master for this dataset' });
    return rows[0];
  });

  // Committed versions of a dataset, newest first; `?batch_id=` gives the version that merged a batch.
  http.get<{ Params: { dataset: string }; Querystring: { batch_id?: string; limit?: string } }>(
    '/masters/:dataset/versions',
    async (req, reply) => {
      const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 500) {
        return reply.code(400).send({ error: 'PRE_ERR_BAD_REQUEST', message: 'limit must be 1..500' });
      }
      const batchId = req.query.batch_id?.trim() || undefined;
      return { versions: await versions.list(req.params.dataset, { batchId, limit }) };
    },
  );

  // One committed version: checksum, location, DVC file, the batches it merged and their raw checksums.
  http.get<{ Params: { dataset: string; version: string } }>(
    '/masters/:dataset/versions/:version',
    async (req, reply) => {
      if (!WHOLE.test(req.params.version)) {
        return reply
          .code(400)
          .send({ error: 'PRE_ERR_BAD_REQUEST', message: 'version must be a whole number' });
      }
      const view = await versions.get(req.params.dataset, Number(req.params.version));
      if (!view) {
        return reply.code(404).send({
          error: 'PRE_ERR_UNKNOWN_VERSION',
          message: `No version ${req.params.version} of ${req.params.dataset}`,
        });
      }
      return view;
    },
  );
}
