import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { bool, commonEnv, csv, int, loadConfig, s3Env, storeUri } from '@tributary/config';
import { defaultContractsDir } from '@tributary/contracts';

const MiB = 1024 * 1024;

const absoluteDir = () =>
  z
    .string()
    .refine((p) => path.isAbsolute(p), 'expected an absolute path')
    .transform((p) => path.resolve(p));

/** Every setting of the ingestor, read from the environment once at start-up. */
export const configSchema = z.object({
  ...commonEnv,
  SERVICE_NAME: commonEnv.SERVICE_NAME.default('ingestor'),
  HTTP_PORT: commonEnv.HTTP_PORT.default(3001),
  DATA_STORE_URI: storeUri().describe(
    'Object store of raw batches, DVC objects (dvc/) and reports: file:///abs/dir or s3://bucket/prefix',
  ),
  ...s3Env,
  CONTRACTS_DIR: absoluteDir()
    .default(fileURLToPath(defaultContractsDir))
    .describe(
      'Folder of data contracts (<name>/<version>.yaml) published into the catalog at start-up (new versions only; a published version never changes); defaults to the repository contracts/',
    ),
  ACCEPT_UNDECLARED_DATASETS: bool()
    .default(false)
    .describe(
      'Migration only: ingest batches of datasets that have no declaration in the catalog (with a warning per batch) instead of rejecting them',
    ),
  ADMIN_TOKEN: z
    .string()
    .min(16, 'expected at least 16 characters')
    .optional()
    .describe(
      'Bearer token of the admin API (the dataset catalog: tributary datasets …); the API is off when unset',
    ),
  ADMIN_TOKEN_NAME: z
    .string()
    .min(1)
    .default('admin')
    .describe('Name recorded in the catalog audit for changes made with ADMIN_TOKEN when no actor is given'),
  SOURCE_FILE_ROOTS: csv()
    .pipe(z.array(absoluteDir()))
    .optional()
    .describe(
      'Local folders batch.ready file:// URIs may point into (comma-separated); LANDING_DIR and a file DATA_STORE_URI are always allowed',
    ),
  INGEST_WORK_DIR: absoluteDir()
    .default(tmpdir())
    .describe('Local scratch folder where batch files are verified before they are copied to raw'),
  INGEST_FILE_CONCURRENCY: int(1, 64).default(4).describe('Files of one batch read and written in parallel'),
  UPLOAD_MAX_FILE_BYTES: int(1)
    .default(512 * MiB)
    .describe('Largest file POST /batches accepts; a larger one is refused with 413'),
  UPLOAD_MAX_BATCH_BYTES: int(1)
    .default(2048 * MiB)
    .describe('Largest total of one upload to POST /batches; a larger one is refused with 413'),
  UPLOAD_MAX_FILES: int(1, 1_000_000).default(10_000).describe('Most files one upload may hold'),
  LANDING_DIR: absoluteDir()
    .optional()
    .describe('Landing zone watched for <dataset>/<batch_id>/_READY markers; the watcher is off when unset'),
  LANDING_SCAN_INTERVAL_MS: int(100)
    .default(2000)
    .describe('Period of the landing-zone scan that backs up file-system notifications'),
  LANDING_CLAIM_TIMEOUT_MS: int(1000)
    .default(10 * 60_000)
    .describe('A _PROCESSING marker left without a submission record for this long is taken over'),
  LANDING_DEFAULT_CONTRACT_VERSION: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, 'expected a semantic version like 1.0.0')
    .default('1.0.0')
    .describe(
      'Contract <dataset>@<version> of a landing batch of an undeclared dataset (ACCEPT_UNDECLARED_DATASETS) without a batch.json naming one; a declared dataset uses its contract.current',
    ),
  LANDING_DEFAULT_PRODUCER: z
    .string()
    .min(1)
    .default('landing-zone')
    .describe('Producer of a landing batch without a batch.json naming one'),
  LANDING_DELETE_FILES: bool()
    .default(true)
    .describe(
      'Clean a landing batch once merged, as the seed moves its files (raw/ keeps them; _DONE and batch.json stay)',
    ),
  OUTBOX_POLL_MS: int(10).default(1000).describe('Fallback poll of the outbox relay; NOTIFY wakes it sooner'),
  INGEST_TAKEOVER_AFTER_MS: int(1000)
    .default(15 * 60_000)
    .describe(
      'An ingest unfinished for this long is taken to be dead: other content may then take its batch id (before, it is refused as a conflict)',
    ),
});

export type Config = Readonly<z.output<typeof configSchema>>;

export function loadServiceConfig(env?: Record<string, string | undefined>): Config {
  return loadConfig(configSchema, env);
}
