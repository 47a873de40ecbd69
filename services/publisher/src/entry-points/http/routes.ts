import { common, publisher as api } from '@tributary/api';
import { AppError } from '@tributary/errors';
import { registerAdminRoutes, type HttpServer } from '@tributary/runtime';
import type { PgPublishRepository } from '../../data-access/publish-repository.ts';

export interface AdminDeps {
  /** Bearer token every /admin request must carry. */
  adminToken: string;
  repo: PgPublishRepository;
  sweep: () => Promise<{ swept: string[] }>;
}

const tags = ['publisher'];
const security = [{ adminToken: [] }];

/** Admin routes of the publisher: the metadata catalog, archive records and a sweep on demand. */
export function registerRoutes(http: HttpServer, deps: AdminDeps): void {
  registerAdminRoutes(http, { token: deps.adminToken, area: 'PUB' }, (admin) => {
    admin.get(
      '/catalog',
      {
        schema: {
          summary: 'Published dataset versions, newest first',
          tags,
          security,
          querystring: api.publishedQuery,
          response: { 200: api.publishedList, ...common.adminErrors },
        },
      },
      async (req) => ({
        datasets: await deps.repo.list(req.query.dataset, req.query.limit, req.query.master_version),
      }),
    );

    admin.get(
      '/archives/:version',
      {
        schema: {
          summary: 'The archive record of a dataset version',
          tags,
          security,
          params: api.archiveParams,
          response: { 200: api.archiveRecord, 404: common.errorBody, ...common.adminErrors },
        },
      },
      async (req) => {
        const archive = await deps.repo.findArchive(req.params.version);
        if (!archive) throw new AppError('PUB_ERR_NOT_FOUND', `no archive of ${req.params.version}`);
        return archive;
      },
    );

    // Deletes the archives older than the retention now, instead of at the next sweep.
    admin.post(
      '/archives/sweep',
      {
        schema: {
          summary: 'Delete the archives older than the retention now',
          tags,
          security,
          response: { 200: api.sweepResult, ...common.adminErrors },
        },
      },
      () => deps.sweep(),
    );
  });
}
