import type { FastifyInstance } from 'fastify';
import type { Pool } from '@tributary/db';

/** Admin routes of the preprocessor (health, readiness and metrics come from the runtime). */
export function registerRoutes(http: FastifyInstance, deps: { pool: Pool }): void {
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
}
