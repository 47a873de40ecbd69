import { SEED_RETRY_DELAYS_MS } from '@tributary/jobs';
import { Cron } from 'croner';
import { z } from 'zod';

/** Names of datasets, models' policies and refresh jobs: safe in object keys, topics and URLs. */
const resourceName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected lower-case letters, digits, "_" or "-" (at most 63)');

const semver = z.string().regex(/^\d+\.\d+\.\d+$/, 'expected a semantic version like 1.0.0');
const ratio = z.number().min(0).max(1);

/** True when croner (what the quality-gate schedules with) accepts the pattern. */
function validCron(pattern: string): boolean {
  try {
    new Cron(pattern, { timezone: 'UTC', paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}

/** A duration: milliseconds, or a number with a unit (`90s`, `2m`, `1h`, `1d`). */
export const duration = z
  .union([z.number().int().min(0), z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected e.g. 500ms, 90s, 2m, 1h')])
  .transform((value) => {
    if (typeof value === 'number') return value;
    const [, n, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(value)!;
    const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as 'ms'];
    return Number(n) * factor;
  });

/** One canonical source file of a refresh (the seed's `ingest_sources`). */
export const fileSourceSchema = z.object({
  name: z.string().min(1),
  uri: z.string().regex(/^(file:\/\/\/|s3:\/\/[^/]+\/)/, 'expected file:///abs/file or s3://bucket/key'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256'),
  schema_version: z.string().min(1),
  // So that a master source given a uri is refused rather than read as a file.
  master: z.undefined().optional(),
});

/** The declared dataset's own master as a source: the version of a master.versioned run, else the latest. */
export const masterSourceSchema = z.strictObject({
  name: z.string().min(1),
  master: z.literal(true),
  schema_version: z.string().min(1),
});

export const sourceSchema = z.union([fileSourceSchema, masterSourceSchema]);
export type RefreshSource = z.output<typeof sourceSchema>;

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
export type BaselineBody = z.output<typeof baselineSchema>;

/** Thresholds of the quality gate; every one is optional and defaults to the seed's values. */
export const gateSchema = z.strictObject({
  min_coverage: ratio.default(1).describe('Minimal share of the baseline slices present'),
  min_diversity: ratio.default(0.3).describe('Minimal distinct-bigram ratio of the text column'),
  max_toxicity: ratio.default(0.01).describe('Maximal share of toxic rows in the text column'),
  max_psi: z.number().min(0).default(0.2).describe('Maximal PSI of a categorical column vs the baseline'),
  max_ks: ratio.default(0.2).describe('Maximal Kolmogorov–Smirnov statistic of a numeric column'),
});

/**
 * An augmentation declared as a DuckDB SQL expression over the candidate row's columns: each engine
 * evaluates it with DuckDB (the embedded one in the gate, the cluster job's own), so it needs no code
 * of its own and runs on `engine: duckdb` and `engine: ray` alike.
 */
export const sqlAugmentationSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,62}$/, 'expected lower-case letters, digits or "_", starting with a letter')
    .refine(
      (n) => n !== 'dropout' && n !== 'image_hflip',
      'dropout and image_hflip name the built-in augmentations',
    )
    .describe('Names the augmentation in the report and its draws: <seed>:<name>:<row key>'),
  column: z.string().min(1).describe('Text column the expression rewrites (its NULLs are left alone)'),
  expression: z
    .string()
    .trim()
    .min(1)
    .refine((e) => !e.includes(';'), 'expected one SQL expression (no ";")')
    .describe("DuckDB SQL expression over the row's columns; its value, as text, replaces the column's"),
  probability: ratio.default(1).describe('Share of rows rewritten, drawn from each row key and the seed'),
});

/** A refresh job: one evaluation set built from its sources, sampled, augmented and gated. */
export const refreshJobSchema = z.strictObject({
  name: resourceName.describe(
    'Name of the evaluation set the job builds (unique in the deployment; quality.evaluated carries it as dataset)',
  ),
  description: z.string().optional(),
  schedule: z
    .string()
    .min(1)
    .refine(validCron, 'expected a cron expression (5 fields, or 6 with seconds first), e.g. "0 2 * * *"')
    .nullable()
    .default('0 2 * * *')
    .describe('Cron schedule (UTC) of the refresh; null runs it only on demand or on master versions'),
  on_master_versioned: z
    .boolean()
    .default(false)
    .describe('Also refresh on each new master version of the declared dataset'),
  sources: z
    .array(sourceSchema)
    .default([])
    .refine((sources) => sources.filter((s) => s.master === true).length <= 1, 'at most one master source')
    .describe(
      'Source files {name, uri, sha256, schema_version}, or the master {name, master: true, schema_version}',
    ),
  schema_version: z.string().min(1).default('1').describe('Schema version every source must declare'),
  sampling: z
    .strictObject({
      stratify_column: z.string().min(1).default('label'),
      fraction: ratio.default(0.5),
      seed: z.number().int().min(0).default(42),
    })
    .default({ stratify_column: 'label', fraction: 0.5, seed: 42 }),
  text_column: z
    .string()
    .min(1)
    .nullable()
    .default('text')
    .describe(
      'Text column that is augmented and scored (diversity, toxicity); null: the dataset has no text, no text checks',
    ),
  augmentation: z
    .strictObject({
      text_dropout: ratio.default(0.1).describe('Share of words dropped (0 disables it)'),
      image_column: z.string().min(1).optional().describe('Column of base64 images to flip'),
      image_flip_probability: ratio.default(0.5),
      sql: z
        .array(sqlAugmentationSchema)
        .default([])
        .refine(
          (list) => new Set(list.map((a) => a.name)).size === list.length,
          'each SQL augmentation needs its own name (it names its draws)',
        )
        .describe(
          'Augmentations written as DuckDB SQL expressions, applied in order after word dropout and before the image flip; both engines run them',
        ),
    })
    .default({ text_dropout: 0.1, image_flip_probability: 0.5, sql: [] }),
  gate: gateSchema.default({
    min_coverage: 1,
    min_diversity: 0.3,
    max_toxicity: 0.01,
    max_psi: 0.2,
    max_ks: 0.2,
  }),
  baseline: z
    .strictObject({
      name: z.string().min(1).default('baseline_eval_v1'),
      seed: baselineSchema.optional().describe('Body stored when the baseline does not exist yet'),
    })
    .default({ name: 'baseline_eval_v1' }),
  retry_delays: z
    .array(duration)
    .default([...SEED_RETRY_DELAYS_MS])
    .describe('Delay before each retry of a run whose task failed for a retriable reason'),
  engine: z
    .enum(['duckdb', 'ray'])
    .default('duckdb')
    .describe(
      'Where sampling and augmentation run: duckdb (embedded, streaming, bounded memory) or ray (a job submitted to the Ray cluster of the deployment, sources and candidate in S3)',
    ),
  engine_timeout: duration
    .default(1_800_000)
    .describe('Longest a cluster job may run (queued or running) before it is stopped and the task fails'),
});
export type RefreshJob = z.output<typeof refreshJobSchema>;

/** A model whose retraining the dataset drives (the seed's retrain_policy_dag). */
export const retrainPolicySchema = z.strictObject({
  model: z.string().min(1).describe('Registered model in MLflow'),
  alias: z.string().min(1).default('production').describe('Alias naming the production version'),
  stage: z
    .string()
    .min(1)
    .nullable()
    .default('Production')
    .describe('Stage used when no version holds the alias (servers without aliases); null disables it'),
  tags: z
    .strictObject({
      feature_version: z.string().min(1).default('feature_version'),
      split_version: z.string().min(1).default('split_version'),
      model_version: z.string().min(1).default('model_version'),
    })
    .default({
      feature_version: 'feature_version',
      split_version: 'split_version',
      model_version: 'model_version',
    })
    .describe('Run tags holding the feature, split and model versions'),
  master_rows_metric: z.string().min(1).default('master_rows'),
  experiments: z
    .array(z.string().min(1))
    .min(1)
    .describe('MLflow experiment ids searched for the last compatible run (only these)'),
  threshold_rows: z.number().int().min(0).default(1000).describe('New master rows that trigger a retrain'),
  when_no_compatible_run: z
    .enum(['skip', 'request'])
    .default('skip')
    .describe('What to do when no finished run has the production versions'),
});
export type RetrainPolicyDeclaration = z.output<typeof retrainPolicySchema>;

/** Where the dataset's notifications go; each unset route falls back to the deployment's default. */
export const notificationsSchema = z.strictObject({
  slack_webhook: z.url().optional(),
  email: z.array(z.email()).min(1).optional(),
  pagerduty: z
    .strictObject({
      routing_key: z.string().min(1),
      priority: z.enum(['P1', 'P2', 'P3', 'P4', 'P5']).default('P2'),
    })
    .optional(),
});
export type NotificationRoutes = z.output<typeof notificationsSchema>;

/** One declared dataset: a file `datasets/<name>.yaml`. */
export const datasetDeclarationSchema = z
  .strictObject({
    $schema: z.string().optional(),
    apiVersion: z.literal('tributary/v1'),
    kind: z.literal('Dataset'),
    name: resourceName.describe('Dataset (master) name; batches name it'),
    description: z.string().optional(),
    owners: z.array(z.string().min(1)).min(1).describe('Teams or people who own the dataset'),
    contract: z
      .strictObject({
        name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
        versions: z.array(semver).min(1).describe('Contract versions a batch may follow'),
        current: semver.describe('Version used when a batch names none (landing zone, CLI)'),
      })
      .refine((c) => c.versions.includes(c.current), {
        message: 'current must be one of versions',
        path: ['current'],
      }),
    landing: z
      .strictObject({ folder: z.string().regex(/^[A-Za-z0-9._-]+$/, 'expected one folder name') })
      .optional()
      .describe('Landing-zone folder of the dataset (defaults to its name)'),
    retention_days: z.number().int().min(1).default(90).describe('Days archived artifacts are kept'),
    retrain_policies: z.array(retrainPolicySchema).default([]),
    refresh_jobs: z.array(refreshJobSchema).default([]),
    notifications: notificationsSchema.default({}),
  })
  .superRefine((d, ctx) => {
    const dup = <T>(items: T[], key: (t: T) => string, path: string) => {
      const seen = new Set<string>();
      items.forEach((item, i) => {
        const k = key(item);
        if (seen.has(k)) ctx.addIssue({ code: 'custom', path: [path, i], message: `duplicate "${k}"` });
        seen.add(k);
      });
    };
    dup(d.retrain_policies, (p) => p.model, 'retrain_policies');
    dup(d.refresh_jobs, (j) => j.name, 'refresh_jobs');
  });

export type DatasetDeclaration = z.output<typeof datasetDeclarationSchema>;
export type DatasetDeclarationInput = z.input<typeof datasetDeclarationSchema>;

/** The landing-zone folder of a dataset. */
export function landingFolder(d: DatasetDeclaration): string {
  return d.landing?.folder ?? d.name;
}

/** Validation problems as `path: message`, the way every refusal names them. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
}
