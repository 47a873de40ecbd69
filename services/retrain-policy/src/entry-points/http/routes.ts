import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '@tributary/errors';
import { parseRequest, registerAdminRoutes } from '@tributary/runtime';
import type { Logger } from '@tributary/telemetry';
import type { DecisionsRepository } from '../../data-access/decisions-repository.ts';
import { changeThreshold, type ThresholdRepository } from '../../domain/retrain-threshold.ts';

export interface AdminDeps {
  /** Bearer token every /admin request must carry. */
  adminToken: string;
  /** Recorded as the actor of a change when the request names none. */
  tokenName: string;
  thresholds: ThresholdRepository;
  decisions: DecisionsRepository;
  logger: Logger;
}

/** Header naming the person or system behind an admin change, for the audit. */
export const ACTOR_HEADER = 'x-tributary-actor';

const actorSchema = z.string().trim().min(1).max(200);
const thresholdBody = z.object({ value: z.unknown(), actor: actorSchema.optional() });
const decisionsQuery = z.object({
  dataset: z.string().min(1).optional(),
  master_version: z.coerce.number().int().min(0).optional(),
  model_name: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const auditQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

/**
 * Admin routes of the retrain-policy (health, readiness and metrics come from the runtime):
 * RETRAIN_THRESHOLD_ROWS (the threshold of the implicit env policy only; a declared policy's
 * threshold is its threshold_rows in the catalog) and its audit, and the stored decisions. All need
 * the admin token.
 */
export function registerRoutes(http: FastifyInstance, deps: AdminDeps): void {
  registerAdminRoutes(http, { token: deps.adminToken, area: 'RTP' }, (admin) => {
    admin.get('/settings/retrain-threshold', () => deps.thresholds.get());

    admin.put('/settings/retrain-threshold', async (req, reply) => {
      const body = parseRequest('RTP', thresholdBody, req.body ?? {}, reply);
      if (!body) return reply;
      const header = actorSchema.safeParse(req.headers[ACTOR_HEADER]);
      const actor = header.success ? header.data : (body.actor ?? deps.tokenName);
      const change = await changeThreshold(deps.thresholds, body.value, {
        actor,
        tokenName: deps.tokenName,
      });
      deps.logger.info({ change }, 'RETRAIN_THRESHOLD_ROWS changed');
      return change;
    });

    admin.get('/settings/retrain-threshold/audit', async (req, reply) => {
      const query = parseRequest('RTP', auditQuery, req.query, reply);
      if (!query) return reply;
      return { changes: await deps.thresholds.history(query.limit) };
    });

    admin.get('/decisions', async (req, reply) => {
      const query = parseRequest('RTP', decisionsQuery, req.query, reply);
      if (!query) return reply;
      const decisions = await deps.decisions.list({
        dataset: query.dataset,
        masterVersion: query.master_version,
        modelName: query.model_name,
        limit: query.limit,
      });
      return { decisions };
    });

    admin.get('/decisions/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
      const decision = await deps.decisions.get(req.params.id);
      if (!decision) throw new AppError('RTP_ERR_NOT_FOUND', `no decision ${req.params.id}`);
      return decision;
    });
  });
}
