import { masterVersioned, retrainRequested } from '@tributary/events';
import { outboxMigrations } from '@tributary/outbox';
import { assembleService, createRuntime, outboxRelayWorker, type ServiceApp } from '@tributary/runtime';
import type { Config } from './config.ts';
import { DecisionsRepository } from './data-access/decisions-repository.ts';
import { MlflowClient } from './data-access/mlflow-client.ts';
import { CatalogPolicies, type ImplicitPolicy } from './data-access/retrain-policies.ts';
import { SettingsRepository } from './data-access/settings-repository.ts';
import { registerRoutes } from './entry-points/http/routes.ts';
import { decisionTelemetry } from './entry-points/kafka/decision-telemetry.ts';
import { handlers } from './entry-points/kafka/handlers/index.ts';

/** Topics the retrain-policy reads and writes; created at start-up if missing. */
export const TOPICS = [masterVersioned.topic, retrainRequested.topic];

/**
 * Wires the retrain-policy without starting or listening: main.ts and the tests start it (tests may
 * read its log lines through `logDestination`).
 */
export async function buildApp(
  config: Config,
  opts: { logDestination?: NodeJS.WritableStream } = {},
): Promise<ServiceApp> {
  const runtime = await createRuntime(config, {
    migrations: [new URL('../migrations/', import.meta.url), outboxMigrations],
    topics: TOPICS,
    ...(opts.logDestination ? { logDestination: opts.logDestination } : {}),
  });
  try {
    const settings = new SettingsRepository(runtime.pool);
    if (await settings.seedThreshold(config.RETRAIN_THRESHOLD_ROWS)) {
      runtime.logger.info(
        { value: config.RETRAIN_THRESHOLD_ROWS },
        'RETRAIN_THRESHOLD_ROWS seeded from configuration',
      );
    }
    const decisions = new DecisionsRepository(runtime.pool);
    const mlflow = new MlflowClient({
      trackingUri: config.MLFLOW_TRACKING_URI,
      timeoutMs: config.MLFLOW_TIMEOUT_MS,
      retries: config.MLFLOW_RETRIES,
      retryBaseMs: config.MLFLOW_RETRY_BASE_MS,
      retryMaxMs: config.MLFLOW_RETRY_MAX_MS,
      token: config.MLFLOW_TRACKING_TOKEN,
      username: config.MLFLOW_TRACKING_USERNAME,
      password: config.MLFLOW_TRACKING_PASSWORD,
      logger: runtime.logger,
      metricsRegistry: runtime.metrics.registry,
    });
    runtime.readiness.set('mlflow', () => mlflow.ping());

    const implicit = implicitPolicy(config);
    if (implicit) {
      runtime.logger.warn(
        { model: implicit.modelName, docs: 'docs/onboarding.md' },
        'MLFLOW_MODEL_NAME is set: the MLFLOW_* and RETRAIN_* settings act as one implicit retrain policy ' +
          'for every dataset that has no declaration in the catalog (a declared dataset uses only its ' +
          'declaration). Declare each dataset in datasets/<dataset>.yaml with a retrain_policies: entry ' +
          'instead (docs/onboarding.md)',
      );
    } else if (config.MLFLOW_EXPERIMENT_IDS) {
      runtime.logger.warn(
        'MLFLOW_EXPERIMENT_IDS is ignored without MLFLOW_MODEL_NAME: each retrain policy names its ' +
          'experiments in datasets/<dataset>.yaml',
      );
    }
    const policies = new CatalogPolicies({ catalog: runtime.catalog, implicit, thresholds: settings });
    return assembleService({
      runtime,
      area: 'RTP',
      handlers: handlers(
        { registry: mlflow, decisions, policies },
        decisionTelemetry(runtime),
        runtime.metrics,
      ),
      workers: [outboxRelayWorker(runtime, [retrainRequested])],
      routes: (http) =>
        registerRoutes(http, {
          adminToken: config.ADMIN_TOKEN,
          tokenName: config.ADMIN_TOKEN_NAME,
          thresholds: settings,
          decisions,
          logger: runtime.logger,
        }),
    });
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

/** The retrain policy of the old settings, when MLFLOW_MODEL_NAME still names a model. */
function implicitPolicy(config: Config): ImplicitPolicy | undefined {
  if (!config.MLFLOW_MODEL_NAME) return undefined;
  return {
    modelName: config.MLFLOW_MODEL_NAME,
    alias: config.MLFLOW_MODEL_ALIAS,
    stage: config.MLFLOW_MODEL_STAGE || undefined,
    tags: {
      featureVersion: config.MLFLOW_FEATURE_VERSION_TAG,
      splitVersion: config.MLFLOW_SPLIT_VERSION_TAG,
      modelVersion: config.MLFLOW_MODEL_VERSION_TAG,
    },
    masterRowsMetric: config.MLFLOW_MASTER_ROWS_METRIC,
    experimentIds: config.MLFLOW_EXPERIMENT_IDS,
    requestWhenNoCompatibleRun: config.RETRAIN_WHEN_NO_COMPATIBLE_RUN,
  };
}
