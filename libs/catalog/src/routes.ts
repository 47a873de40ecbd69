import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '@tributary/errors';
import type { CatalogStore } from './store.ts';

const resource = z.object({ source: z.string().optional(), spec: z.unknown() });
const applyBody = z.strictObject({
  datasets: z.array(resource).default([]),
  contracts: z.array(resource).default([]),
  prune: z.boolean().default(false),
  force: z.boolean().default(false),
  dry_run: z.boolean().default(false),
  actor: z.string().min(1).optional(),
});
const historyQuery = z.object({
  name: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});
const removeQuery = z.object({
  force: z.enum(['true', 'false']).default('false'),
  actor: z.string().min(1).optional(),
});

/**
 * The catalog's admin routes, mounted inside a service's `/admin` scope: apply (with dry run and
 * prune), read, remove, and the audit. `actor` defaults to the admin token's name. Refusals are
 * AppErrors (CATALOG_ERR_*) answered by the service's error handler, each problem in
 * `details.problems`.
 */
export function registerCatalogRoutes(
  admin: FastifyInstance,
  deps: { store: CatalogStore; tokenName: string },
): void {
  const bad = (issues: z.ZodError) => {
    const problems = issues.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    return new AppError('CATALOG_ERR_INVALID', problems.join('; '), { details: { problems } });
  };

  admin.post('/catalog/apply', async (req) => {
    const body = applyBody.safeParse(req.body);
    if (!body.success) throw bad(body.error);
    const result = await deps.store.apply({
      datasets: body.data.datasets,
      contracts: body.data.contracts,
      prune: body.data.prune,
      force: body.data.force,
      dryRun: body.data.dry_run,
      actor: body.data.actor ?? deps.tokenName,
      tokenName: deps.tokenName,
    });
    return { dry_run: result.dryRun, revision: result.revision, changes: result.changes };
  });

  admin.get('/catalog/datasets', async () => ({ datasets: await deps.store.datasets() }));

  admin.get<{ Params: { name: string } }>('/catalog/datasets/:name', async (req) => {
    const [found] = await deps.store.datasets(req.params.name);
    if (!found) throw new AppError('CATALOG_ERR_NOT_FOUND', `dataset ${req.params.name} is not declared`);
    return found;
  });

  admin.delete<{ Params: { name: string } }>('/catalog/datasets/:name', async (req) => {
    const query = removeQuery.safeParse(req.query);
    if (!query.success) throw bad(query.error);
    const result = await deps.store.remove(req.params.name, {
      force: query.data.force === 'true',
      actor: query.data.actor ?? deps.tokenName,
      tokenName: deps.tokenName,
    });
    return { dry_run: false, revision: result.revision, changes: result.changes };
  });

  admin.get('/catalog/contracts', async () => ({ contracts: await deps.store.contracts() }));

  admin.get('/catalog/history', async (req) => {
    const query = historyQuery.safeParse(req.query);
    if (!query.success) throw bad(query.error);
    return { changes: await deps.store.history(query.data) };
  });
}
