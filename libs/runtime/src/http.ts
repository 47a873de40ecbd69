import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Logger } from '@tributary/telemetry';
import { installErrorHandling, type HttpArea } from './errors.ts';
import type { Runtime } from './runtime.ts';

const PROBE_TIMEOUT_MS = 2000;

/**
 * The HTTP server of a service: routes declare zod schemas for their params, querystring, headers,
 * body and responses; requests are validated and responses serialized by those schemas, and the
 * same schemas make the OpenAPI document served at `GET /openapi.json`.
 */
export type HttpServer = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** The same instance, its routes typed by their zod schemas (a plugin's instance is not, by itself). */
export function withSchemas(instance: FastifyInstance): HttpServer {
  return instance.withTypeProvider<ZodTypeProvider>();
}

/** Names the OpenAPI document of a service, and the area of its error codes. */
export interface ApiInfo {
  /** The service's name, e.g. `ingestor`. */
  service: string;
  description?: string;
  /** Error-code area of the service (`ING`, `PRE`...): its HTTP errors are `<AREA>_ERR_<PROBLEM>`. */
  area: HttpArea;
  logger: Logger;
}

/**
 * An HTTP server with the zod compilers, the OpenAPI document (`GET /openapi.json`) and the one error
 * handling (errors.ts; a request that fails its schema is `<AREA>_ERR_BAD_REQUEST` naming each
 * field). Routes are added in plugins (`http.register`) so the document sees them: it records
 * routes added after it is loaded.
 */
export function createHttp(info: ApiInfo): HttpServer {
  const app = Fastify({ logger: false }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  // A success is checked against its schema (a 500 when the code breaks its contract); an error body
  // comes from the error handlers, whose one shape the schemas only document.
  app.setSerializerCompiler<Parameters<typeof serializerCompiler>[0]['schema']>((route) =>
    String(route.httpStatus).startsWith('2') ? serializerCompiler(route) : (data) => JSON.stringify(data),
  );
  installErrorHandling(app, { area: info.area, logger: info.logger });
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: `tributary ${info.service}`,
        version: '1',
        ...(info.description === undefined ? {} : { description: info.description }),
      },
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer', description: "The service's ADMIN_TOKEN" },
          sessionCookie: {
            type: 'apiKey',
            in: 'cookie',
            name: 'tributary_console',
            description: "The console's session (POST /api/login); changes also need X-CSRF-Token",
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    // Schemas given an id (`.meta({ id })`) become components the routes refer to.
    transformObject: jsonSchemaTransformObject,
  });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  return app;
}

const healthBody = z.object({ status: z.literal('ok'), service: z.string() });
const readyBody = z.object({
  status: z.enum(['ready', 'not ready']),
  checks: z.record(z.string(), z.string()).describe('"ok" or what failed, per dependency'),
});

/**
 * The HTTP side every service shares: liveness, readiness (broker, registry, database and the
 * service's own dependencies), Prometheus metrics, the OpenAPI document and the one error handling
 * (errors.ts). Services add their routes to it. Built without listening, so tests drive it with inject().
 */
export function buildHttp(runtime: Runtime, isConsuming: () => boolean, area: HttpArea): HttpServer {
  const app = createHttp({ service: runtime.serviceName, area, logger: runtime.logger });
  void app.register((plugin, _opts, done) => {
    const probes = withSchemas(plugin);
    probes.get('/healthz', { schema: { summary: 'Liveness', response: { 200: healthBody } } }, () => ({
      status: 'ok' as const,
      service: runtime.serviceName,
    }));

    probes.get(
      '/readyz',
      { schema: { summary: 'Readiness of each dependency', response: { 200: readyBody, 503: readyBody } } },
      async (_req, reply) => {
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
      },
    );

    probes.get(
      '/metrics',
      {
        schema: {
          summary: 'Prometheus metrics',
          response: {
            200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } },
          },
        },
      },
      async (_req, reply) => {
        const body = await runtime.metrics.registry.metrics();
        return reply.header('content-type', runtime.metrics.registry.contentType).send(body);
      },
    );
    done();
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
