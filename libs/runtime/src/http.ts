import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandling, type HttpArea } from './errors.ts';
import type { Runtime } from './runtime.ts';

const PROBE_TIMEOUT_MS = 2000;

/**
 * The HTTP side every service shares: liveness, readiness (broker, registry, database and the
 * service's own dependencies), Prometheus metrics and the one error handling (errors.ts). Services
 * add their routes to it. Built without listening, so tests drive it with inject().
 */
export function buildHttp(runtime: Runtime, isConsuming: () => boolean, area: HttpArea): FastifyInstance {
  const app = Fastify({ logger: false });
  installErrorHandling(app, { area, logger: runtime.logger });

  app.get('/healthz', () => ({ status: 'ok', service: runtime.serviceName }));

  app.get('/readyz', async (_req, reply) => {
    const checks: Record<string, string> = {};
    await Promise.all(
      [...runtime.readiness].map(async ([name, probe]) => {
        try {
          await withTimeout(probe(), PROBE_TIMEOUT_MS);
          checks[name] = 'ok';
        } catch (err) {
          checks[name] = err instanceof Error ? err.message : String(err);
        }
      }),
    );
    checks.consumer = isConsuming() ? 'ok' : 'not consuming';
    const ready = Object.values(checks).every((v) => v === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await runtime.metrics.registry.metrics();
    return reply.header('content-type', runtime.metrics.registry.contentType).send(body);
  });

  return app;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}
