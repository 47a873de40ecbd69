import type { FastifyInstance } from 'fastify';

/** Admin routes of the preprocessor (health, readiness and metrics come from the runtime). */
export function registerRoutes(_http: FastifyInstance): void {}
