import { z } from 'zod';
import { bool, commonEnv, csv, int, loadConfig, url } from '@tributary/config';

/** Every setting of the retrain-policy, read from the environment once at start-up. */
export const configSchema = z.object({
  ...commonEnv,
  SERVICE_NAME: commonEnv.SERVICE_NAME.default('retrain-policy'),
  HTTP_PORT: commonEnv.HTTP_PORT.default(3006),

  MLFLOW_TRACKING_URI: url().describe(
    'Base URL of the MLflow tracking server (its REST API is under /api/2.0)',
  ),
  MLFLOW_TRACKING_TOKEN: z
    .string()
    .min(1)
    .optional()
    .describe('Bearer token for MLflow, when the server requires one'),
  MLFLOW_TRACKING_USERNAME: z.string().min(1).optional().describe('Basic-auth user for MLflow'),
  MLFLOW_TRACKING_PASSWORD: z.string().min(1).optional().describe('Basic-auth password for MLflow'),
  MLFLOW_MODEL_NAME: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Deprecated: the model of the implicit retrain policy applied to every dataset with no declaration in ' +
        'the catalog (with the MLFLOW_MODEL_*, MLFLOW_*_TAG, MLFLOW_MASTER_ROWS_METRIC, MLFLOW_EXPERIMENT_IDS ' +
        'and RETRAIN_* settings); unset, undeclared datasets retrain nothing. Declare retrain_policies in ' +
        'datasets/<dataset>.yaml instead (docs/onboarding.md)',
    ),
  MLFLOW_MODEL_ALIAS: z
    .string()
    .min(1)
    .default('production')
    .describe('Alias naming the production version of the registered model'),
  MLFLOW_MODEL_STAGE: z
    .string()
    .default('Production')
    .describe('Stage used when no version holds the alias (servers without aliases); empty disables it'),
  MLFLOW_FEATURE_VERSION_TAG: z
    .string()
    .min(1)
    .default('feature_version')
    .describe('Run tag holding the feature version'),
  MLFLOW_SPLIT_VERSION_TAG: z
    .string()
    .min(1)
    .default('split_version')
    .describe('Run tag holding the split version'),
  MLFLOW_MODEL_VERSION_TAG: z
    .string()
    .min(1)
    .default('model_version')
    .describe('Run tag holding the model (code/architecture) version'),
  MLFLOW_MASTER_ROWS_METRIC: z
    .string()
    .min(1)
    .default('master_rows')
    .describe('Metric of a training run holding the master rows it was trained on'),
  MLFLOW_EXPERIMENT_IDS: csv()
    .optional()
    .describe(
      'Experiments the implicit env policy searches for the last compatible run; all active experiments when unset',
    ),
  MLFLOW_TIMEOUT_MS: int(1).default(5000).describe('Timeout of each MLflow request'),
  MLFLOW_RETRIES: int(0, 20)
    .default(3)
    .describe('Retries of a failed MLflow request before the message is retried'),
  MLFLOW_RETRY_BASE_MS: int(1)
    .default(250)
    .describe('First delay between MLflow request retries; doubles each time'),
  MLFLOW_RETRY_MAX_MS: int(1).default(2000).describe('Upper bound of a delay between MLflow request retries'),

  RETRAIN_THRESHOLD_ROWS: int(0)
    .default(1000)
    .describe(
      'New master rows that trigger a retrain under the implicit env policy; seeds the runtime setting on first start only',
    ),
  RETRAIN_WHEN_NO_COMPATIBLE_RUN: bool()
    .default(false)
    .describe(
      'Request a retrain when no finished run has the production versions (implicit env policy only)',
    ),
  ADMIN_TOKEN: z
    .string()
    .min(16, 'expected at least 16 characters')
    .describe('Bearer token of the admin API (threshold changes, decisions)'),
  ADMIN_TOKEN_NAME: z
    .string()
    .min(1)
    .default('admin')
    .describe('Name recorded in the audit for changes made with ADMIN_TOKEN when no actor is given'),
});

export type Config = Readonly<z.output<typeof configSchema>>;

export function loadServiceConfig(env?: Record<string, string | undefined>): Config {
  return loadConfig(configSchema, env);
}
