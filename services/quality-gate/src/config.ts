import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { retryDelaysSetting } from '@tributary/jobs';
import { baselineSchema, sourceSchema, type RefreshJob } from '@tributary/catalog';
import { bool, commonEnv, int, loadConfig, redisTlsEnv, s3Env, storeUri, url } from '@tributary/config';

const jsonOf = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

const ratio = () => z.coerce.number().min(0).max(1);

/** Every setting of the quality-gate, read from the environment once at start-up. */
export const configSchema = z.object({
  ...commonEnv,
  SERVICE_NAME: commonEnv.SERVICE_NAME.default('quality-gate'),
  HTTP_PORT: commonEnv.HTTP_PORT.default(3003),

  // The refresh settings below describe ONE implicit refresh job (used when REFRESH_SOURCES or
  // REFRESH_DATASET is set and no declared job has its name); declare jobs in the catalog instead.
  REFRESH_DATASET: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Implicit job (name): the refresh job of the old settings and the dataset whose master it reads (default eval); declare refresh_jobs in datasets/<dataset>.yaml instead',
    ),
  REFRESH_SOURCES: jsonOf(
    z
      .array(sourceSchema)
      .refine((sources) => sources.filter((s) => s.master === true).length <= 1, 'at most one master source'),
  )
    .optional()
    .describe(
      'Implicit job (sources): JSON list of files {name, uri (JSONL, CSV or Parquet), sha256, schema_version}, or the master of REFRESH_DATASET {name, master: true, schema_version}',
    ),
  REFRESH_SCHEMA_VERSION: z
    .string()
    .min(1)
    .default('1')
    .describe('Implicit job (schema_version): schema version every source must declare'),
  REFRESH_CRON: z.string().min(1).default('0 2 * * *').describe('Implicit job (schedule): its cron (UTC)'),
  REFRESH_SCHEDULE_ENABLED: bool()
    .default(true)
    .describe(
      'Fire the refresh jobs on their schedules from this deployment (false: manual and master.versioned only)',
    ),
  REFRESH_ON_MASTER_VERSIONED: bool()
    .default(false)
    .describe('Implicit job (on_master_versioned): also refresh on each master.versioned of REFRESH_DATASET'),
  REFRESH_STORE_URI: storeUri().describe(
    'Object store of candidates and quality reports: file:///abs/dir or s3://bucket/prefix',
  ),
  ...s3Env,
  REDIS_URL: url().describe(
    'Redis used to fire each scheduled refresh once across replicas; a password goes in the URL (redis://:password@host:port, rediss:// for TLS)',
  ),
  ...redisTlsEnv,

  SAMPLE_STRATIFY_COLUMN: z
    .string()
    .min(1)
    .default('label')
    .describe('Implicit job (sampling.stratify_column)'),
  SAMPLE_FRACTION: ratio()
    .default(0.5)
    .describe('Implicit job (sampling.fraction): share of each stratum kept'),
  SAMPLE_SEED: int(0)
    .default(42)
    .describe('Implicit job (sampling.seed): seed of the sampling and augmentation PRNG'),
  TEXT_COLUMN: z
    .string()
    .min(1)
    .default('text')
    .transform((v) => (v === 'none' ? null : v))
    .describe('Implicit job (text_column): text column augmented and scored; none: no text checks'),
  AUGMENT_TEXT_DROPOUT: ratio()
    .default(0.1)
    .describe('Implicit job (augmentation.text_dropout): share of words dropped (0 disables it)'),

  IMAGE_COLUMN: z
    .string()
    .min(1)
    .optional()
    .describe('Implicit job (augmentation.image_column): column of base64 images to flip'),
  AUGMENT_IMAGE_FLIP_PROBABILITY: ratio()
    .default(0.5)
    .describe('Implicit job (augmentation.image_flip_probability)'),
  BASELINE_SEED: jsonOf(baselineSchema)
    .optional()
    .describe('Implicit job (baseline.seed): JSON body of BASELINE_NAME stored when it does not exist yet'),
  BASELINE_NAME: z
    .string()
    .min(1)
    .default('baseline_eval_v1')
    .describe('Implicit job (baseline.name): baseline the gate compares against'),
  GATE_MIN_COVERAGE: ratio().default(1).describe('Implicit job (gate.min_coverage)'),
  GATE_MIN_DIVERSITY: ratio().default(0.3).describe('Implicit job (gate.min_diversity)'),
  GATE_MAX_TOXICITY: ratio().default(0.01).describe('Implicit job (gate.max_toxicity)'),
  GATE_MAX_PSI: z.coerce.number().min(0).default(0.2).describe('Implicit job (gate.max_psi)'),
  GATE_MAX_KS: ratio().default(0.2).describe('Implicit job (gate.max_ks)'),

  REFRESH_RETRY_DELAYS_MS: retryDelaysSetting(
    'a run of the implicit job whose task failed for a retriable reason (its retry_delays)',
  ),
  REFRESH_RETRY_POLL_MS: int(50)
    .default(5000)
    .describe(
      'How often the job worker looks for due retries, and the stale-run check for runs left running',
    ),
  REFRESH_STALE_AFTER_MS: int(1000)
    .default(1_800_000)
    .describe(
      'A run left running with no heartbeat (touched between tasks) for this long is recovered by the stale-run check: retried, or failed when no retry is left; must exceed the longest task',
    ),
  REFRESH_SCRATCH_DIR: z
    .string()
    .min(1)
    .default(path.join(tmpdir(), 'tributary-refresh'))
    .describe(
      "Directory of the embedded engine's per-run DuckDB databases, spill files and S3 source copies (needs room for the sources)",
    ),
  REFRESH_ENGINE_MEMORY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i, 'expected e.g. 512MB')
    .default('512MB')
    .describe('Memory limit of the embedded DuckDB engine per run; beyond it DuckDB spills to disk'),
  REFRESH_ENGINE_THREADS: int(1, 64).default(2).describe('Threads of the embedded DuckDB engine per run'),
  REFRESH_ENGINE_BATCH_ROWS: int(1)
    .default(10_000)
    .describe('Rows handed to JavaScript at once (toxicity scoring, pluggable augmentations)'),
  REFRESH_TOXICITY_MAX_TEXTS: int(1)
    .default(200_000)
    .describe(
      'Texts scored for toxicity at most per run; beyond, a uniform subsample of about this many chosen by row key (standard error of the share at most 0.5/sqrt(n))',
    ),
  RAY_ADDRESS: url()
    .optional()
    .describe(
      "Ray cluster's dashboard / Jobs API (http://host:8265) for refresh jobs declaring engine: ray; unset: such jobs fail naming it",
    ),
  RAY_JOB_PYTHON: z
    .string()
    .min(1)
    .default('python')
    .describe("Python command of the Ray cluster's job drivers (needs pyarrow and boto3)"),
  RAY_POLL_MS: int(50).default(1000).describe('How often a Ray job is polled for its status and logs'),
  REFRESH_CANCEL_POLL_MS: int(50)
    .default(2000)
    .describe('How often a replica checks whether the runs it executes were cancelled on another replica'),
  ADMIN_TOKEN: z
    .string()
    .min(16, 'expected at least 16 characters')
    .describe('Bearer token of the admin API (manual refresh, baselines)'),
  ADMIN_TOKEN_NAME: z
    .string()
    .min(1)
    .default('admin')
    .describe('Recorded as the actor of a baseline change when the request names none'),
});

export type Config = Readonly<z.output<typeof configSchema>>;

export function loadServiceConfig(env?: Record<string, string | undefined>): Config {
  return loadConfig(configSchema, env);
}

/** The implicit refresh job of the old settings, and the dataset whose master it reads. */
export interface EnvRefreshJob {
  dataset: string;
  job: RefreshJob;
}

/**
 * The old refresh settings as one implicit job named REFRESH_DATASET (default `eval`), when
 * REFRESH_SOURCES or REFRESH_DATASET is set; undefined otherwise. It is in force only while no
 * declared job has its name (see RefreshJobs).
 */
export function envRefreshJob(config: Config): EnvRefreshJob | undefined {
  if (config.REFRESH_SOURCES === undefined && config.REFRESH_DATASET === undefined) return undefined;
  const name = config.REFRESH_DATASET ?? 'eval';
  return {
    dataset: name,
    job: {
      name,
      schedule: config.REFRESH_CRON,
      on_master_versioned: config.REFRESH_ON_MASTER_VERSIONED,
      sources: [...(config.REFRESH_SOURCES ?? [])],
      schema_version: config.REFRESH_SCHEMA_VERSION,
      sampling: {
        stratify_column: config.SAMPLE_STRATIFY_COLUMN,
        fraction: config.SAMPLE_FRACTION,
        seed: config.SAMPLE_SEED,
      },
      text_column: config.TEXT_COLUMN,
      augmentation: {
        text_dropout: config.AUGMENT_TEXT_DROPOUT,
        ...(config.IMAGE_COLUMN === undefined ? {} : { image_column: config.IMAGE_COLUMN }),
        image_flip_probability: config.AUGMENT_IMAGE_FLIP_PROBABILITY,
        sql: [],
      },
      gate: {
        min_coverage: config.GATE_MIN_COVERAGE,
        min_diversity: config.GATE_MIN_DIVERSITY,
        max_toxicity: config.GATE_MAX_TOXICITY,
        max_psi: config.GATE_MAX_PSI,
        max_ks: config.GATE_MAX_KS,
      },
      baseline: {
        name: config.BASELINE_NAME,
        ...(config.BASELINE_SEED === undefined ? {} : { seed: config.BASELINE_SEED }),
      },
      retry_delays: [...config.REFRESH_RETRY_DELAYS_MS],
      engine: 'duckdb',
      engine_timeout: 1_800_000,
    },
  };
}
