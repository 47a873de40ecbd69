import { z } from 'zod';
import { bool, commonEnv, int, loadConfig, url } from '@tributary/config';

/** Every setting of the console, read from the environment once at start-up. */
export const configSchema = z.object({
  ...commonEnv,
  SERVICE_NAME: commonEnv.SERVICE_NAME.default('console'),
  HTTP_PORT: commonEnv.HTTP_PORT.default(3007),

  INGESTOR_URL: url().describe('Base URL of the ingestor (batches, and the catalog under /admin/catalog)'),
  PREPROCESSOR_URL: url().describe(
    'Base URL of the preprocessor (master versions, lineage, rejection reports)',
  ),
  QUALITY_GATE_URL: url().describe('Base URL of the quality-gate (refresh jobs, runs, quality reports)'),
  PUBLISHER_URL: url().describe('Base URL of the publisher (published dataset versions)'),
  RETRAIN_POLICY_URL: url().describe('Base URL of the retrain-policy (decisions, retrain threshold)'),
  SERVICE_TIMEOUT_MS: int(100).default(5000).describe('Timeout of each request to a service'),

  ADMIN_TOKEN: z
    .string()
    .min(16, 'expected at least 16 characters')
    .describe(
      "The services' admin bearer token: the console reads their admin APIs with it, and an operator who " +
        'logs in with it gets the admin role (replays, threshold changes)',
    ),
  VIEWER_TOKEN: z
    .string()
    .min(16, 'expected at least 16 characters')
    .optional()
    .describe('Token of the read-only viewer role; no viewer login when unset'),
  SESSION_SECRET: z
    .string()
    .min(32, 'expected at least 32 characters')
    .describe('Secret that signs the session cookie; every replica of the console needs the same one'),
  SESSION_TTL_MS: int(60_000)
    .default(8 * 3600_000)
    .describe('How long a login lasts'),
  COOKIE_SECURE: bool()
    .default(false)
    .describe('Mark the session cookie Secure (set it when the console is served over HTTPS)'),

  LIVE_POLL_MS: int(100)
    .default(1000)
    .describe('How often the live batch list asks the ingestor for changes while someone watches it'),
  JAEGER_UI_LINK: url()
    .optional()
    .describe(
      "Jaeger's UI, for links from a run id to its trace (<url>/trace/<run id>); no links when unset",
    ),
  MLFLOW_UI_LINK: url()
    .optional()
    .describe(
      "MLflow's UI as the operators' browsers reach it, for links to registered models; no links when unset",
    ),
  WEB_DIST_DIR: z
    .string()
    .min(1)
    .optional()
    .describe('Folder of the built web client (default: services/console/dist, made by npm run build)'),
});

export type Config = Readonly<z.output<typeof configSchema>>;

export function loadServiceConfig(env?: Record<string, string | undefined>): Config {
  return loadConfig(configSchema, env);
}
