import { z } from 'zod';
import { storedDataset, catalogChange } from './catalog.ts';
import { limit, name, open, timestamp } from './common.ts';
import { batchView } from './ingestor.ts';
import { currentMaster, dvcFile, masterVersion, rejectionReport } from './preprocessor.ts';
import { baselineChange, gateMetric, qualityReport, refreshRun, runTask } from './quality-gate.ts';
import { thresholdChange, thresholdSetting } from './retrain-policy.ts';

/** The console's API (`/api/...`): the services' admin APIs read together, for the web client. */

export const session = z.object({
  role: z.enum(['admin', 'viewer']),
  csrf: z.string().describe('Send it back in X-CSRF-Token on every change'),
  expiresAt: timestamp,
});
export type Session = z.infer<typeof session>;
export const loginBody = z.object({ token: z.string().min(1, 'the token is required') });
export const loggedOut = z.object({ ok: z.literal(true) });

export const links = z.object({ jaeger: z.string().optional(), mlflow: z.string().optional() });
export type Links = z.infer<typeof links>;

export const listQuery = z.object({ dataset: name.optional(), job: name.optional(), limit: limit() });
export const lineageQuery = z.object({ batch_id: name });

export const datasetWithMaster = storedDataset.extend({ master: currentMaster.nullable() });
export type DatasetWithMaster = z.infer<typeof datasetWithMaster>;
export const datasetList = z.object({ datasets: z.array(datasetWithMaster) });
export const nameParams = z.object({ name: z.string().min(1) });
/** One dataset: its declaration, its master versions (row count over time) and its audit. */
export const datasetDetail = z.object({
  dataset: storedDataset,
  versions: z.array(masterVersion),
  changes: z.array(catalogChange),
});
export type DatasetDetail = z.infer<typeof datasetDetail>;

export const idParams = z.object({ id: z.string().min(1) });
/** One batch: its stages, the preprocessor's rejection report, its master version and raw files. */
export const batchDetail = z.object({
  batch: batchView,
  report: rejectionReport.nullable(),
  master: masterVersion.nullable(),
  files: z.array(dvcFile),
});
export type BatchDetail = z.infer<typeof batchDetail>;

export const runWithTasks = refreshRun.extend({
  tasks: z.array(runTask).describe('When each task of each attempt started, in order'),
});
export type RunWithTasks = z.infer<typeof runWithTasks>;
export const runsList = z.object({ runs: z.array(runWithTasks) });
export const versionParams = z.object({ version: z.string().min(1) });
export const runDetail = z.object({ run: runWithTasks, report: qualityReport.nullable() });
export type RunDetail = z.infer<typeof runDetail>;

export const trendPoint = z.object({
  run: z.string(),
  job: z.string(),
  startedAt: timestamp,
  status: z.string(),
  metrics: z.array(gateMetric),
});
export type TrendPoint = z.infer<typeof trendPoint>;
export const trends = z.object({ points: z.array(trendPoint).describe('Oldest first') });

const deadLetter = z.object({
  service: z.string(),
  dlq: z.object({
    topic: z.string(),
    partition: z.number(),
    offset: z.string(),
    event_id: z.string().nullable(),
  }),
  source: z.object({ topic: z.string(), partition: z.number(), offset: z.number() }).nullable(),
  event_id: z.string().nullable(),
  key: z.string().nullable(),
  consumer_group: z.string().nullable(),
  run_id: z.string().nullable(),
  error: z
    .object({ code: z.string(), message: z.string(), retriable: z.boolean(), attempts: z.number() })
    .nullable(),
  first_failed_at: timestamp.nullable(),
  dead_lettered_at: timestamp.nullable(),
  event: open({ name: z.string() })
    .nullable()
    .describe('The original event: its name and identifying fields'),
  decode_error: z.string().nullable(),
  replay_of: z.string().nullable(),
});
export type DeadLetter = z.infer<typeof deadLetter>;
export const deadLetters = z.object({ services: z.array(z.string()), letters: z.array(deadLetter) });
export type DeadLetters = z.infer<typeof deadLetters>;
export const serviceParams = z.object({ service: z.string().regex(/^[a-z0-9-]{1,64}$/) });
export const replayBody = z.object({
  partition: z.number().int().min(0),
  offset: z.string().regex(/^\d+$/, 'expected a whole number as a string'),
});
export const replayResults = z.object({ results: z.array(open({ status: z.string() })) });

export const settings = z.object({
  retrainThreshold: z.object({ current: thresholdSetting, changes: z.array(thresholdChange) }),
  catalog: z.array(catalogChange),
  baselines: z.array(z.object({ name: z.string(), changes: z.array(baselineChange) })),
});
export type Settings = z.infer<typeof settings>;
export const consoleThresholdBody = z.object({ value: z.number().int().min(0) });
