import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  absoluteDir,
  commonEnv,
  csv,
  int,
  loadConfig,
  redisTlsEnv,
  s3Env,
  storeUri,
  url,
} from '@tributary/config';
import { defaultContractsDir } from '@tributary/contracts';

const MiB = 1024 * 1024;

/** Points where FAULT_INJECT kills the process (tests of invariant 2 only). */
export const FAULT_POINTS = ['none', 'crash-before-commit', 'crash-after-commit'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** Every setting of the preprocessor, read from the environment once at start-up. */
export const configSchema = z.object({
  ...commonEnv,
  SERVICE_NAME: commonEnv.SERVICE_NAME.default('preprocessor'),
  HTTP_PORT: commonEnv.HTTP_PORT.default(3002),
  DATA_STORE_URI: storeUri().describe(
    'Object store of raw batches, master versions, DVC objects (dvc/) and reports',
  ),
  ...s3Env,
  REDIS_URLS: csv()
    .pipe(z.array(z.url({ message: 'expected redis:// URLs' })))
    .optional()
    .describe('Redis nodes of the master lock: one, or five independent nodes for the Redlock quorum'),
  REDIS_URL: url()
    .default('redis://127.0.0.1:6379')
    .describe(
      'Single Redis node, used when REDIS_URLS is unset; a password goes in the URL (redis://:password@host:port, rediss:// for TLS)',
    ),
  ...redisTlsEnv,
  CONTRACTS_DIR: absoluteDir()
    .default(fileURLToPath(defaultContractsDir))
    .describe(
      'Folder of data contracts (<name>/<version>.yaml) published into the catalog at start-up (new versions only; a published version never changes); defaults to the repository contracts/',
    ),
  LOCK_TTL_MS: int(1000)
    .default(30_000)
    .describe('Lifetime of the master lock; extended while the merge runs'),
  LOCK_MAX_WAIT_MS: int(100)
    .default(10 * 60_000)
    .describe('How long a merge waits for the master lock before it fails (retriable)'),
  COMPACTION_FANOUT: int(2, 1000)
    .default(8)
    .describe('Parts of one size tier that are merged into one part (tiered compaction)'),
  COMPACTION_BASE_ROWS: int(1)
    .default(10_000)
    .describe('Rows of the smallest size tier: parts below it are all tier 0'),
  COMPACTION_MAX_PART_ROWS: int(1)
    .default(5_000_000)
    .describe('Parts at or above this many rows are never compacted further'),
  IMAGE_MAX_BYTES: int(1)
    .default(64 * MiB)
    .describe("Ceiling on an image's size whatever its contract allows (memory bound)"),
  IMAGE_MAX_PIXELS: int(1)
    .default(100_000_000)
    .describe('Ceiling on decoded pixels of an image (decompression bombs), whatever its contract allows'),
  IMAGE_CONCURRENCY: int(1, 64).default(2).describe('Images decoded and canonicalised in parallel'),
  DUCKDB_THREADS: int(1, 256).default(2).describe('Threads of the embedded DuckDB'),
  DUCKDB_MEMORY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'expected a size like 2GB')
    .default('1GB')
    .describe('Memory DuckDB may use before it spills to WORK_DIR'),
  WORK_DIR: absoluteDir()
    .default(tmpdir())
    .describe('Local scratch folder for staged tables, parts and downloads; cleaned after each batch'),
  DRY_RUN_MAX_BYTES: int(1)
    .default(1024 * MiB)
    .describe('Largest upload (all files together) POST /validate takes for a dry run'),
  DRY_RUN_MAX_FILES: int(1, 1_000_000).default(10_000).describe('Most files one dry-run upload may hold'),
  ORPHAN_GRACE_MS: int(0)
    .default(60 * 60_000)
    .describe('Age after which a part written by a merge that never committed is deleted'),
  ADMIN_TOKEN: z
    .string()
    .min(16, 'expected at least 16 characters')
    .describe('Bearer token of the admin API (lineage); also sent to the other services it reads'),
  LINEAGE_INGESTOR_URL: url()
    .default('http://127.0.0.1:3001')
    .describe('Base URL of the ingestor, read by the lineage API'),
  LINEAGE_QUALITY_GATE_URL: url()
    .default('http://127.0.0.1:3003')
    .describe('Base URL of the quality-gate, read by the lineage API'),
  LINEAGE_PUBLISHER_URL: url()
    .default('http://127.0.0.1:3004')
    .describe('Base URL of the publisher, read by the lineage API'),
  LINEAGE_RETRAIN_POLICY_URL: url()
    .default('http://127.0.0.1:3006')
    .describe('Base URL of the retrain-policy, read by the lineage API'),
  LINEAGE_TIMEOUT_MS: int(100)
    .default(5000)
    .describe('Timeout of each read of another service by the lineage API; a slow one shows as unavailable'),
  OUTBOX_POLL_MS: int(10).default(1000).describe('Fallback poll of the outbox relay; NOTIFY wakes it sooner'),
  FAULT_INJECT: z
    .enum(FAULT_POINTS)
    .default('none')
    .describe(
      'Test only: SIGKILL the process at this point of a merge (crash-before-commit, crash-after-commit)',
    ),
});

export type Config = Readonly<z.output<typeof configSchema>>;

export function loadServiceConfig(env?: Record<string, string | undefined>): Config {
  return loadConfig(configSchema, env);
}
