import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { catalog as api, common } from '@tributary/api';
import { AppError } from '@tributary/errors';
import type { CatalogStore } from './store.ts';

/**
 * The catalog's admin routes, mounted inside a service's `/admin` scope: apply (with dry run and
 * prune), read, remove, and the audit. `actor` defaults to the admin token's name. Refusals are
 * AppErrors (CATALOG_ERR_*) answered by the service's error handler, each problem in
 * `details.problems`; a request that fails its schema is the service's `<AREA>_ERR_BAD_REQUEST`.
 */
export function registerCatalogRoutes(
  scope: FastifyInstance,
  deps: { store: CatalogStore; tokenName: string },
): void {
  const admin = scope.withTypeProvider<ZodTypeProvider>();
  const tags = ['catalog'];
  const security = [{ adminToken: [] }];
  const refused = { 400: common.errorBody, 404: common.errorBody, 409: common.errorBody };

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
    async (req) => {
      const { body } = req;
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
    async (req) => {
      const [found] = await deps.store.datasets(req.params.name);
      if (!found) throw new AppError('CATALOG_ERR_NOT_FOUND', `dataset ${req.params.name} is not declared`);
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
    async (req) => {
      const result = await deps.store.remove(req.params.name, {
        force: req.query.force === 'true',
        actor: req.query.actor ?? deps.tokenName,
        tokenName: deps.tokenName,
      });
      return { dry_run: false, revision: result.revision, changes: result.changes };
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
