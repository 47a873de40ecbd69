import { z } from 'zod';
import { bool, commonEnv, csv, int, loadConfig, s3Env, storeUri, url } from '@tributary/config';

/** One canonical source file of the refresh (the seed's `ingest_sources`). */
export const fileSourceSchema = z.object({
  name: z.string().min(1),
  uri: z.string().regex(/^(file:\/\/\/|s3:\/\/[^/]+\/)/, 'expected file:///abs/file or s3://bucket/key'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256'),
  schema_version: z.string().min(1),
  // So that a master source given a uri is refused rather than read as a file.
  master: z.undefined().optional(),
});

/** The master of REFRESH_DATASET as a source: the version of a master.versioned run, else the latest seen. */
export const masterSourceSchema = z.strictObject({
  name: z.string().min(1),
  master: z.literal(true),
  schema_version: z.string().min(1),
});

export const sourceSchema = z.union([fileSourceSchema, masterSourceSchema]);

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

/** A baseline body: the slices, scalar metrics and column distributions the gate compares with. */
export const baselineSchema = z.object({
  required_slices: z.array(z.string()),
  metrics: z.object({ diversity: z.number().optional(), toxicity: z.number().optional() }).default({}),
  columns: z
    .record(
      z.string(),
      z.discriminatedUnion('type', [
        z.object({ type: z.literal('categorical'), frequencies: z.record(z.string(), z.number().min(0)) }),
        z.object({ type: z.literal('numeric'), values: z.array(z.number()).min(1) }),
      ]),
    )
    .default({}),
});

const ratio = () => z.coerce.number().min(0).max(1);

/** Every setting of the quality-gate, read from the environment once at start-up. */
export const configSchema = z.object({
  ...commonEnv,
  SERVICE_NAME: commonEnv.SERVICE_NAME.default('quality-gate'),
  HTTP_PORT: commonEnv.HTTP_PORT.default(3003),

  REFRESH_DATASET: z
    .string()
    .min(1)
    .default('eval')
    .describe('Name of the evaluation dataset the refresh builds'),
  REFRESH_SOURCES: jsonOf(
    z
      .array(sourceSchema)
      .refine((sources) => sources.filter((s) => s.master === true).length <= 1, 'at most one master source'),
  )
    .default([])
    .describe(
      'JSON list of sources: files {name, uri (JSONL, CSV or Parquet), sha256, schema_version}, or the master of REFRESH_DATASET {name, master: true, schema_version}',
    ),
  REFRESH_SCHEMA_VERSION: z
    .string()
    .min(1)
    .default('1')
    .describe('Schema version every source must declare; a mismatch fails the run'),
  REFRESH_CRON: z.string().min(1).default('0 2 * * *').describe('Cron schedule of the nightly refresh (UTC)'),
  REFRESH_SCHEDULE_ENABLED: bool().default(true).describe('Run the nightly refresh on REFRESH_CRON'),
  REFRESH_ON_MASTER_VERSIONED: bool()
    .default(false)
    .describe(
      'Also refresh on each master.versioned of REFRESH_DATASET (the versions are recorded for a master source either way)',
    ),
  REFRESH_STORE_URI: storeUri().describe(
    'Object store of candidates and quality reports: file:///abs/dir or s3://bucket/prefix',
  ),
  ...s3Env,
  REDIS_URL: url().describe('Redis used to fire each scheduled refresh once across replicas'),

  SAMPLE_STRATIFY_COLUMN: z.string().min(1).default('label').describe('Column the sampling is stratified on'),
  SAMPLE_FRACTION: ratio().default(0.5).describe('Share of the rows of each stratum kept in the candidate'),
  SAMPLE_SEED: int(0)
    .default(42)
    .describe('Seed of the sampling and augmentation PRNG, recorded in the report'),
  TEXT_COLUMN: z.string().min(1).default('text').describe('Text column that is augmented and scored'),
  AUGMENT_TEXT_DROPOUT: ratio()
    .default(0.1)
    .describe('Share of words dropped by the text augmentation (0 disables it)'),

  IMAGE_COLUMN: z
    .string()
    .min(1)
    .optional()
    .describe('Column holding base64-encoded images, flipped by the image augmentation; none when unset'),
  AUGMENT_IMAGE_FLIP_PROBABILITY: ratio()
    .default(0.5)
    .describe('Probability that an image of IMAGE_COLUMN is mirrored horizontally'),
  BASELINE_SEED: jsonOf(baselineSchema)
    .optional()
    .describe('JSON body of BASELINE_NAME stored on first start when it does not exist yet'),
  BASELINE_NAME: z.string().min(1).default('baseline_eval_v1').describe('Baseline the gate compares against'),
  GATE_MIN_COVERAGE: ratio().default(1).describe('Minimal share of the baseline slices present'),
  GATE_MIN_DIVERSITY: ratio().default(0.3).describe('Minimal distinct-bigram ratio of TEXT_COLUMN'),
  GATE_MAX_TOXICITY: ratio().default(0.01).describe('Maximal share of toxic rows in TEXT_COLUMN'),
  GATE_MAX_PSI: z.coerce
    .number()
    .min(0)
    .default(0.2)
    .describe('Maximal PSI of a categorical column vs the baseline'),
  GATE_MAX_KS: ratio().default(0.2).describe('Maximal Kolmogorov–Smirnov statistic of a numeric column'),

  REFRESH_RETRY_DELAYS_MS: csv()
    .pipe(z.array(z.string().regex(/^\d+$/, 'expected milliseconds').transform(Number)))
    .default([120_000, 600_000])
    .describe(
      'Delay before each retry of a run whose task failed for a retriable reason (one entry per retry)',
    ),
  REFRESH_RETRY_POLL_MS: int(50)
    .default(5000)
    .describe('How often the due-retries poller looks for runs to retry'),
  REFRESH_STALE_AFTER_MS: int(1000)
    .default(1_800_000)
    .describe(
      'A run left running with no heartbeat (touched between tasks) for this long is recovered by the poller: retried, or failed when no retry is left; must exceed the longest task',
    ),
  ADMIN_TOKEN: z
    .string()
    .min(16, 'expected at least 16 characters')
    .describe('Bearer token of the admin API (manual refresh, baselines)'),
});

export type Config = Readonly<z.output<typeof configSchema>>;

export function loadServiceConfig(env?: Record<string, string | undefined>): Config {
  return loadConfig(configSchema, env);
}
