import { z } from 'zod';
import { anyObject, actor, fieldChange, limit, name, open, timestamp, wholeNumber } from './common.ts';

/** A refresh job (evaluation set) as the admin API lists it. */
export const refreshJob = z.object({
  job: z.string(),
  dataset: z.string(),
  origin: z.enum(['catalog', 'env']),
  catalogRevision: z.number().nullable(),
  schedule: z.string().nullable(),
  onMasterVersioned: z.boolean(),
  baseline: z.string(),
  gate: anyObject,
});
export type RefreshJob = z.infer<typeof refreshJob>;
export const jobList = z.object({ jobs: z.array(refreshJob) });
export type JobList = z.infer<typeof jobList>;

/** `job` names the job; `dataset` a job too, or a declared dataset with one job; neither: the only job. */
// Optional: a POST without a body (Fastify gives null) runs the default job.
export const refreshBody = z.object({ job: name.optional(), dataset: name.optional() }).nullish();

export const runsQuery = z.object({
  job: name.optional(),
  dataset: name.optional(),
  master_version: wholeNumber.optional(),
  limit: limit(),
});
export const runParams = z.object({ version: z.string().min(1) });

export const refreshRun = z.object({
  datasetVersion: z.string(),
  job: z.string(),
  dataset: z.string(),
  trigger: z.enum(['MASTER_VERSIONED', 'SCHEDULE', 'MANUAL']),
  scheduledFor: timestamp.nullable(),
  masterVersion: z.number().nullable(),
  runId: z.string().nullable(),
  traceparent: z.string().nullable(),
  status: z.enum(['running', 'retrying', 'passed', 'failed', 'cancelled']),
  attempt: z.number().describe('1 for the first execution, 2 for the first retry, ...'),
  nextAttemptAt: timestamp.nullable(),
  failedTask: z.string().nullable(),
  reason: z.string().nullable(),
  sourceHash: z.string().nullable(),
  reportUri: z.string().nullable(),
  candidateUri: z.string().nullable(),
  startedAt: timestamp,
  finishedAt: timestamp.nullable(),
  heartbeatAt: timestamp,
  settings: anyObject.nullable(),
  settingsOrigin: z.enum(['catalog', 'env']).nullable(),
  catalogRevision: z.number().nullable(),
});
export type RefreshRun = z.infer<typeof refreshRun>;
export const runList = z.object({ runs: z.array(refreshRun) });

export const runTask = z.object({ attempt: z.number(), task: z.string(), startedAt: timestamp });
export type RunTask = z.infer<typeof runTask>;
export const runTasks = z.object({ tasks: z.array(runTask) });

export const gateMetric = open({
  metric: z.string(),
  baseline: z.number().nullable(),
  value: z.number(),
  delta: z.number().nullable(),
  threshold: z.number(),
  pass: z.boolean(),
});
export type GateMetric = z.infer<typeof gateMetric>;
/** A run's quality_report.json: each gate metric with its value, baseline, delta and threshold. */
export const qualityReport = open({
  passed: z.boolean(),
  metrics: z.array(gateMetric),
  coverage_gaps: z.array(z.unknown()),
  candidate_rows: z.number(),
  sources: z.array(open({ name: z.string(), rows: z.number().optional(), checksum: z.string().optional() })),
});
export type QualityReport = z.infer<typeof qualityReport>;

export const baselineParams = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'expected 1 to 100 of A-Z a-z 0-9 _ . -'),
});
export const actorQuery = z.object({ actor: actor.optional() });
/** Why the run is cancelled (recorded with who cancelled it). */
export const cancelBody = z.object({ reason: z.string().trim().min(1).max(500).optional() }).nullish();
export const auditQuery = z.object({ limit: limit() });
export const baseline = open({
  name: z.string(),
  updatedAt: timestamp,
  updatedBy: z.string().nullable(),
});
export const baselineChange = z.object({
  id: z.string(),
  name: z.string(),
  action: z.enum(['seeded', 'created', 'updated']),
  actor: z.string(),
  tokenName: z.string().nullable(),
  diff: z.array(fieldChange),
  body: anyObject,
  changedAt: timestamp,
});
export type BaselineChange = z.infer<typeof baselineChange>;
export const baselineAudit = z.object({ changes: z.array(baselineChange) });
