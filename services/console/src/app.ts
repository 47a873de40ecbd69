import { fileURLToPath } from 'node:url';
import { assembleService, createRuntime, type ServiceApp } from '@tributary/runtime';
import type { Config } from './config.ts';
import { DeadLetterBox } from './data-access/dead-letter-box.ts';
import { ServiceClient, type Services } from './data-access/service-client.ts';
import type { ListedBatch } from './domain/batch-changes.ts';
import { LiveBatches } from './entry-points/http/live.ts';
import { registerApi } from './entry-points/http/routes.ts';
import { registerSession } from './entry-points/http/session.ts';
import { registerWeb } from './entry-points/http/web.ts';

/** Where `npm run build` puts the web client. */
export const DEFAULT_DIST_DIR = fileURLToPath(new URL('../dist/', import.meta.url));

/**
 * Wires the console without listening: the web client, the login, and an API over the services'
 * admin APIs. It consumes no topic; its Kafka connection reads and replays dead letters.
 */
export async function buildApp(
  config: Config,
  opts: { logDestination?: NodeJS.WritableStream } = {},
): Promise<ServiceApp> {
  const runtime = await createRuntime(config, {
    migrations: [],
    topics: [],
    ...(opts.logDestination ? { logDestination: opts.logDestination } : {}),
  });
  try {
    const client = (name: string, baseUrl: string) =>
      new ServiceClient({ name, baseUrl, token: config.ADMIN_TOKEN, timeoutMs: config.SERVICE_TIMEOUT_MS });
    const services: Services = {
      ingestor: client('ingestor', config.INGESTOR_URL),
      preprocessor: client('preprocessor', config.PREPROCESSOR_URL),
      qualityGate: client('quality-gate', config.QUALITY_GATE_URL),
      publisher: client('publisher', config.PUBLISHER_URL),
      retrainPolicy: client('retrain-policy', config.RETRAIN_POLICY_URL),
    };
    // No readiness probe on the services it reads: a page naming the service that does not answer
    // serves the operator better than a console taken out of its load balancer.
    const live = new LiveBatches({
      fetch: async () =>
        (await services.ingestor.get<{ batches: ListedBatch[] }>('/admin/batches', { limit: 100 })).batches,
      pollMs: config.LIVE_POLL_MS,
      logger: runtime.logger,
    });
    // Open event streams would keep the HTTP server from closing.
    runtime.onClose(() => Promise.resolve(live.close()));
    const deadLetters = new DeadLetterBox(
      {
        kafka: runtime.kafka,
        registry: runtime.registry,
        topicPrefix: runtime.topicPrefix,
        groupPrefix: `${runtime.topicPrefix}tributary.console.dlq`,
      },
      runtime.serviceName,
    );
    const app = assembleService({
      runtime,
      area: 'CON',
      handlers: [],
      routes: (http) => {
        void http.register(async (scope) => {
          await registerSession(scope, {
            adminToken: config.ADMIN_TOKEN,
            viewerToken: config.VIEWER_TOKEN,
            secret: config.SESSION_SECRET,
            ttlMs: config.SESSION_TTL_MS,
            secureCookie: config.COOKIE_SECURE,
          });
          registerApi(scope, {
            services,
            deadLetters,
            live,
            links: { jaeger: config.JAEGER_UI_LINK, mlflow: config.MLFLOW_UI_LINK },
            logger: runtime.logger,
          });
          await registerWeb(scope, config.WEB_DIST_DIR ?? DEFAULT_DIST_DIR);
        });
      },
    });
    // Streams end before the HTTP server waits for its connections.
    const stop = app.stop.bind(app);
    return {
      ...app,
      runtime: app.runtime,
      http: app.http,
      runner: app.runner,
      start: () => app.start(),
      stop: () => {
        live.close();
        return stop();
      },
    };
  } catch (err) {
    await runtime.close();
    throw err;
  }
}
