import type { FastifyInstance } from 'fastify';

/** Admin routes of the retrain-policy (health, readiness and metrics come from the runtime). */
export function registerRoutes(_http: FastifyInstance): void {}
