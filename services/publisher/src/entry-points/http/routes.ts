import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '@tributary/errors';
import { parseRequest, registerAdminRoutes } from '@tributary/runtime';
import type { PgPublishRepository } from '../../data-access/publish-repository.ts';

export interface AdminDeps {
  /** Bearer token every /admin request must carry. */
  adminToken: string;
  repo: PgPublishRepository;
  sweep: () => Promise<{ swept: string[] }>;
}

const catalogQuery = z.object({
  dataset: z.string().min(1).optional(),
  master_version: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** Admin routes of the publisher: the metadata catalog, archive records and a sweep on demand. */
export function registerRoutes(http: FastifyInstance, deps: AdminDeps): void {
  registerAdminRoutes(http, { token: deps.adminToken, area: 'PUB' }, (admin) => {
    admin.get('/catalog', async (req, reply) => {
      const query = parseRequest('PUB', catalogQuery, req.query, reply);
      if (!query) return reply;
      return { datasets: await deps.repo.list(query.dataset, query.limit, query.master_version) };
    });

    admin.get<{ Params: { version: string } }>('/archives/:version', async (req) => {
      const archive = await deps.repo.findArchive(req.params.version);
      if (!archive) throw new AppError('PUB_ERR_NOT_FOUND', `no archive of ${req.params.version}`);
      return archive;
    });

    // Deletes the archives older than the retention now, instead of at the next sweep.
    admin.post('/archives/sweep', () => deps.sweep());
  });
}
