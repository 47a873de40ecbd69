import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isAppError } from '@tributary/errors';
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
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const auditQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

/**
 * Admin routes of the retrain-policy (health, readiness and metrics come from the runtime):
 * RETRAIN_THRESHOLD_ROWS and its audit, and the stored decisions. All need the admin token.
 */
export function registerRoutes(http: FastifyInstance, deps: AdminDeps): void {
  const expected = digest(deps.adminToken);
  void http.register(
    (admin, _opts, done) => {
      admin.addHook('onRequest', async (req, reply) => {
        const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
        if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
          await reply
            .code(401)
            .header('www-authenticate', 'Bearer')
            .send(problem('RTP_ERR_UNAUTHORIZED', 'a valid admin bearer token is required'));
        }
      });
      admin.setErrorHandler(async (err, _req, reply) => {
        if (isAppError(err)) {
          const status = err.code === 'RTP_ERR_INVALID_THRESHOLD' ? 400 : err.retriable ? 503 : 500;
          return reply.code(status).send(problem(err.code, err.message));
        }
        const status = (err as { statusCode?: number }).statusCode ?? 500;
        const message = err instanceof Error ? err.message : String(err);
        return reply.code(status).send(problem('RTP_ERR_ADMIN', message));
      });

      admin.get('/settings/retrain-threshold', () => deps.thresholds.get());

      admin.put('/settings/retrain-threshold', async (req, reply) => {
        const body = parse(thresholdBody, req.body ?? {}, reply);
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
        const query = parse(auditQuery, req.query, reply);
        if (!query) return reply;
        return { changes: await deps.thresholds.history(query.limit) };
      });

      admin.get('/decisions', async (req, reply) => {
        const query = parse(decisionsQuery, req.query, reply);
        if (!query) return reply;
        const decisions = await deps.decisions.list({
          dataset: query.dataset,
          masterVersion: query.master_version,
          limit: query.limit,
        });
        return { decisions };
      });

      admin.get('/decisions/:id', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
        const decision = await deps.decisions.get(req.params.id);
        if (!decision)
          return reply.code(404).send(problem('RTP_ERR_NOT_FOUND', `no decision ${req.params.id}`));
        return decision;
      });
      done();
    },
    { prefix: '/admin' },
  );
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function problem(code: string, message: string) {
  return { error: { code, message } };
}

/** Parses input with a schema, or answers 400 naming every problem and returns undefined. */
function parse<S extends z.ZodType>(schema: S, input: unknown, reply: FastifyReply): z.output<S> | undefined {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
  void reply.code(400).send(problem('RTP_ERR_BAD_REQUEST', problems.join('; ')));
  return undefined;
}
