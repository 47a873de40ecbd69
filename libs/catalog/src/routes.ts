import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isAppError } from '@tributary/errors';
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
  admin: FastifyInstance,
  deps: { store: CatalogStore; tokenName: string },
): void {
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
  const bad = (issues: z.ZodError) => ({
    error: {
      code: 'CATALOG_ERR_INVALID',
      message: issues.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
    },
  });

  admin.post('/catalog/apply', async (req, reply) => {
    const body = applyBody.safeParse(req.body);
    if (!body.success) return reply.code(400).send(bad(body.error));
    try {
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
    } catch (err) {
      const { status, body: problem } = fail(err);
      return reply.code(status).send(problem);
    }
  });

  admin.get('/catalog/datasets', async () => ({ datasets: await deps.store.datasets() }));

  admin.get<{ Params: { name: string } }>('/catalog/datasets/:name', async (req, reply) => {
    const [found] = await deps.store.datasets(req.params.name);
    if (!found) {
      return reply.code(404).send({
        error: { code: 'CATALOG_ERR_NOT_FOUND', message: `dataset ${req.params.name} is not declared` },
      });
    }
    return found;
  });

  admin.delete<{ Params: { name: string } }>('/catalog/datasets/:name', async (req, reply) => {
    const query = removeQuery.safeParse(req.query);
    if (!query.success) return reply.code(400).send(bad(query.error));
    try {
      const result = await deps.store.remove(req.params.name, {
        force: query.data.force === 'true',
        actor: query.data.actor ?? deps.tokenName,
        tokenName: deps.tokenName,
      });
      return { dry_run: false, revision: result.revision, changes: result.changes };
    } catch (err) {
      const { status, body: problem } = fail(err);
      return reply.code(status).send(problem);
    }
  });

  admin.get('/catalog/contracts', async () => ({ contracts: await deps.store.contracts() }));

  admin.get('/catalog/history', async (req, reply) => {
    const query = historyQuery.safeParse(req.query);
    if (!query.success) return reply.code(400).send(bad(query.error));
    return { changes: await deps.store.history(query.data) };
  });
}
