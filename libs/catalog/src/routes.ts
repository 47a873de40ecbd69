import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { catalog as api, common } from '@tributary/api';
import { isAppError } from '@tributary/errors';
import type { CatalogStore } from './store.ts';

const STATUS: Record<string, number> = {
  CATALOG_ERR_INVALID: 400,
  CATALOG_ERR_CONFLICT: 409,
  CATALOG_ERR_NOT_FOUND: 404,
};

/**
 * The catalog's admin routes, mounted inside a service's `/admin` scope: apply (with dry run and
 * prune), read, remove, and the audit. `actor` defaults to the admin token's name.
 */
export function registerCatalogRoutes(
  scope: FastifyInstance,
  deps: { store: CatalogStore; tokenName: string },
): void {
  const admin = scope.withTypeProvider<ZodTypeProvider>();
  const tags = ['catalog'];
  const security = [{ adminToken: [] }];
  const refused = { 400: api.catalogRefusal, 404: common.errorBody, 409: api.catalogRefusal };
  const fail = (err: unknown) => {
    if (isAppError(err) && STATUS[err.code] !== undefined) {
      return {
        status: STATUS[err.code]!,
        body: {
          error: { code: err.code, message: err.message, problems: err.details.problems ?? [err.message] },
        },
      };
    }
    throw err;
  };

  admin.post(
    '/catalog/apply',
    {
      schema: {
        summary: 'Apply declarations (datasets, contracts), with dry run and prune',
        tags,
        security,
        body: api.catalogApplyBody,
        response: { 200: api.catalogApplyResult, ...refused },
      },
    },
    async (req, reply) => {
      const body = req.body;
      try {
        const result = await deps.store.apply({
          datasets: body.datasets,
          contracts: body.contracts,
          prune: body.prune,
          force: body.force,
          dryRun: body.dry_run,
          actor: body.actor ?? deps.tokenName,
          tokenName: deps.tokenName,
        });
        return { dry_run: result.dryRun, revision: result.revision, changes: result.changes };
      } catch (err) {
        const { status, body: problem } = fail(err);
        return reply.code(status as 400).send(problem);
      }
    },
  );

  admin.get(
    '/catalog/datasets',
    { schema: { summary: 'Every declared dataset', tags, security, response: { 200: api.catalogDatasets } } },
    async () => ({ datasets: await deps.store.datasets() }),
  );

  admin.get(
    '/catalog/datasets/:name',
    {
      schema: {
        summary: 'One declared dataset',
        tags,
        security,
        params: api.datasetNameParams,
        response: { 200: api.storedDataset, 404: common.errorBody },
      },
    },
    async (req, reply) => {
      const [found] = await deps.store.datasets(req.params.name);
      if (!found) {
        return reply.code(404).send({
          error: { code: 'CATALOG_ERR_NOT_FOUND', message: `dataset ${req.params.name} is not declared` },
        });
      }
      return found;
    },
  );

  admin.delete(
    '/catalog/datasets/:name',
    {
      schema: {
        summary: 'Remove a declared dataset (force: also one that holds data)',
        tags,
        security,
        params: api.datasetNameParams,
        querystring: api.catalogRemoveQuery,
        response: { 200: api.catalogApplyResult, ...refused },
      },
    },
    async (req, reply) => {
      const query = req.query;
      try {
        const result = await deps.store.remove(req.params.name, {
          force: query.force === 'true',
          actor: query.actor ?? deps.tokenName,
          tokenName: deps.tokenName,
        });
        return { dry_run: false, revision: result.revision, changes: result.changes };
      } catch (err) {
        const { status, body: problem } = fail(err);
        return reply.code(status).send(problem);
      }
    },
  );

  admin.get(
    '/catalog/contracts',
    {
      schema: {
        summary: 'Every published contract version',
        tags,
        security,
        response: { 200: api.catalogContracts },
      },
    },
    async () => ({ contracts: await deps.store.contracts() }),
  );

  admin.get(
    '/catalog/history',
    {
      schema: {
        summary: 'The audit of catalog changes, newest first',
        tags,
        security,
        querystring: api.catalogHistoryQuery,
        response: { 200: api.catalogHistory },
      },
    },
    async (req) => ({ changes: await deps.store.history(req.query) }),
  );
}
