import { common, retrainPolicy as api } from '@tributary/api';
import { AppError } from '@tributary/errors';
import { registerAdminRoutes, type HttpServer } from '@tributary/runtime';
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
export const ACTOR_HEADER = common.ACTOR_HEADER;

const tags = ['retrain-policy'];
const security = [{ adminToken: [] }];
const threshold = 'RETRAIN_THRESHOLD_ROWS of the implicit env policy';

/**
 * Admin routes of the retrain-policy (health, readiness and metrics come from the runtime):
 * RETRAIN_THRESHOLD_ROWS (the threshold of the implicit env policy only; a declared policy's
 * threshold is its threshold_rows in the catalog) and its audit, and the stored decisions. All need
 * the admin token.
 */
export function registerRoutes(http: HttpServer, deps: AdminDeps): void {
  registerAdminRoutes(http, { token: deps.adminToken, area: 'RTP' }, (admin) => {
    admin.get(
      '/settings/retrain-threshold',
      {
        schema: {
          summary: threshold,
          tags,
          security,
          response: { 200: api.thresholdSetting, ...common.adminErrors },
        },
      },
      () => deps.thresholds.get(),
    );

    admin.put(
      '/settings/retrain-threshold',
      {
        schema: {
          summary: `Change ${threshold}`,
          tags,
          security,
          headers: common.actorHeaders,
          body: api.thresholdBody,
          response: { 200: api.thresholdChange, ...common.adminErrors },
        },
      },
      async (req) => {
        const actor = req.headers[ACTOR_HEADER] ?? req.body.actor ?? deps.tokenName;
        const change = await changeThreshold(deps.thresholds, req.body.value, {
          actor,
          tokenName: deps.tokenName,
        });
        deps.logger.info({ change }, 'RETRAIN_THRESHOLD_ROWS changed');
        return change;
      },
    );

    admin.get(
      '/settings/retrain-threshold/audit',
      {
        schema: {
          summary: `The changes of ${threshold}, newest first`,
          tags,
          security,
          querystring: api.auditQuery,
          response: { 200: api.thresholdAudit, ...common.adminErrors },
        },
      },
      async (req) => ({ changes: await deps.thresholds.history(req.query.limit) }),
    );

    admin.get(
      '/decisions',
      {
        schema: {
          summary: 'Stored retrain decisions, newest first',
          tags,
          security,
          querystring: api.decisionsQuery,
          response: { 200: api.decisionList, ...common.adminErrors },
        },
      },
      async (req) => {
        const decisions = await deps.decisions.list({
          dataset: req.query.dataset,
          masterVersion: req.query.master_version,
          modelName: req.query.model_name,
          limit: req.query.limit,
        });
        return { decisions };
      },
    );

    admin.get(
      '/decisions/:id',
      {
        schema: {
          summary: 'One retrain decision',
          tags,
          security,
          params: api.decisionParams,
          response: { 200: api.decision, 404: common.errorBody, ...common.adminErrors },
        },
      },
      async (req) => {
        const decision = await deps.decisions.get(req.params.id);
        if (!decision) throw new AppError('RTP_ERR_NOT_FOUND', `no decision ${req.params.id}`);
        return decision;
      },
    );
  });
}
