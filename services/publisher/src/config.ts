import { tmpdir } from 'node:os';
import { z } from 'zod';
import { retryDelaysSetting } from '@tributary/jobs';
import { absoluteDir, commonEnv, int, loadConfig, s3Env, storeUri } from '@tributary/config';

/** Every setting of the publisher, read from the environment once at start-up. */
export const configSchema = z.object({
  ...commonEnv,
  SERVICE_NAME: commonEnv.SERVICE_NAME.default('publisher'),
  HTTP_PORT: commonEnv.HTTP_PORT.default(3004),

  PUBLISH_STORE_URI: storeUri().describe(
    'Object store of published datasets (datasets/) and archives (archive/)',
  ),
  ...s3Env,
  WORK_DIR: absoluteDir()
    .default(tmpdir())
    .describe(
      'Local scratch folder where candidates are compared (the diff spills there); cleaned after each',
    ),
  ARCHIVE_RETENTION_DAYS: int(1)
    .default(90)
    .describe('Days archived artifacts are kept (lifecycle rule + sweeper)'),
  ARCHIVE_SWEEP_INTERVAL_MS: int(1000)
    .default(3_600_000)
    .describe('How often the sweeper deletes archives older than the retention'),
  PUBLISH_FAULT_INJECTION: z
    .enum(['none', 'after_candidate_upload', 'after_manifest_write'])
    .default('none')
    .describe(
      'Testing only: fail publishing at this point to exercise the rollback; never set in production',
    ),
  PUBLISH_FAULT_INJECTION_ATTEMPTS: int(1)
    .default(1000)
    .describe(
      'Testing only: how many attempts of a version PUBLISH_FAULT_INJECTION fails (later ones succeed)',
    ),
  PUBLISH_RETRY_DELAYS_MS: retryDelaysSetting('a failed publish'),
  PUBLISH_RETRY_POLL_MS: int(50)
    .default(5000)
    .describe(
      'How often the job worker looks for due publish retries (and for attempts whose lease ran out)',
    ),
  PUBLISH_RETRY_LEASE_MS: int(1000)
    .default(10 * 60_000)
    .describe(
      'A retry held by a replica that died (or hung) is taken again after this long (the lease of the publish-retry job); keep it above the longest publish',
    ),
  ADMIN_TOKEN: z
    .string()
    .min(16, 'expected at least 16 characters')
    .describe('Bearer token of the admin API (catalog, archives)'),
});

export type Config = Readonly<z.output<typeof configSchema>>;

export function loadServiceConfig(env?: Record<string, string | undefined>): Config {
  return loadConfig(configSchema, env);
}
