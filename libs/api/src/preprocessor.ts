import { z } from 'zod';
import { limit, name, open, timestamp } from './common.ts';

const WHOLE = /^\d+$/;
const contractRef = z.object({ name: z.string(), version: z.string() });

/** `GET /admin/lineage`: one of batch_id, master_version (with dataset) or dataset_version. */
export const lineageQuery = z
  .object({
    batch_id: name.optional(),
    dataset: name.optional(),
    master_version: z.string().regex(WHOLE, 'expected a whole number').transform(Number).optional(),
    dataset_version: name.optional(),
  })
  .refine(
    (q) => [q.batch_id, q.master_version, q.dataset_version].filter((v) => v !== undefined).length === 1,
    'give exactly one of batch_id, master_version or dataset_version',
  )
  .refine((q) => q.master_version === undefined || q.dataset !== undefined, {
    message: 'master_version needs dataset',
    path: ['dataset'],
  });

export const lineageLink = z.object({
  kind: z.string(),
  state: z.enum(['found', 'missing', 'unavailable']).describe('unavailable: the service could not be read'),
  id: z.string().nullable(),
  location: z.string().nullable(),
  checksum: z.string().nullable(),
  runId: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
  note: z.string().optional(),
});
export type LineageLink = z.infer<typeof lineageLink>;
/** batch → raw snapshot → master version → quality report → published manifest → retrain request. */
export const lineage = z.object({
  dataset: z.string().nullable(),
  traceIds: z.array(z.string()).describe('Distinct run (trace) ids seen along the chain'),
  links: z.array(lineageLink),
});
export type Lineage = z.infer<typeof lineage>;

export const batchIdParams = z.object({ batchId: z.string().min(1) });

const violation = open({
  rule: z.string(),
  column: z.string().nullable().optional(),
  message: z.string(),
});
export type Violation = z.infer<typeof violation>;
const rejectedRow = open({
  file: z.string(),
  row: z.number(),
  primary_key: z.record(z.string(), z.string().nullable()),
  reasons: z.array(violation),
  run_id: z.string().optional(),
});
export type RejectedRow = z.infer<typeof rejectedRow>;
/** What the preprocessor decided on a batch, with every row it refused and why. */
export const rejectionReport = z.object({
  batch_id: z.string(),
  dataset: z.string(),
  outcome: z.enum(['merged', 'rejected']),
  master_version: z.number().nullable(),
  rows_merged: z.number(),
  rows_rejected: z.number(),
  report_uri: z.string().nullable(),
  processed_at: timestamp,
  rows: z.array(rejectedRow),
});
export type RejectionReport = z.infer<typeof rejectionReport>;

export const md5Params = z.object({ md5: z.string().min(1).describe('DVC directory md5 (<32 hex>.dir)') });
export const dvcFile = z.object({ relpath: z.string(), md5: z.string() });
export const dvcDirectory = z.object({ md5: z.string(), files: z.array(dvcFile) });
export type DvcDirectory = z.infer<typeof dvcDirectory>;

export const datasetParams = z.object({ dataset: z.string().min(1) });
/** The current master of a dataset: version, CURRENT_MASTER_ROWS, checksum and where it is. */
export const currentMaster = z.object({
  dataset: z.string(),
  version: z.number(),
  row_count: z.number(),
  checksum: z.string(),
  location: z.string(),
  dvc_file: z.string(),
  batch_ids: z.array(z.string()),
  committed_at: timestamp,
});
export type CurrentMaster = z.infer<typeof currentMaster>;

export const versionsQuery = z.object({
  batch_id: z
    .string()
    .trim()
    .optional()
    .transform((v) => v || undefined)
    .describe('The version that merged this batch'),
  limit: limit(),
});
export const versionParams = z.object({
  dataset: z.string().min(1),
  version: z.string().regex(WHOLE, 'expected a whole number').transform(Number),
});
/** One committed master version. */
export const masterVersion = z.object({
  dataset: z.string(),
  version: z.number(),
  previous_version: z.number().nullable(),
  checksum: z.string(),
  row_count: z.number(),
  rows_added: z.number(),
  rows_updated: z.number(),
  rows_rejected: z.number(),
  batch_ids: z.array(z.string()),
  raw_checksums: z.record(z.string(), z.string()).nullable().describe('Raw checksum of each merged batch'),
  contract: contractRef,
  location: z.string(),
  dvc_file: z.string(),
  rejection_report_uri: z.string().nullable(),
  run_id: z.string().nullable(),
  committed_at: timestamp,
});
export type MasterVersion = z.infer<typeof masterVersion>;
export const masterVersions = z.object({ versions: z.array(masterVersion) });

/** POST /validate: the dry run's report (the checks a batch would go through; nothing is stored). */
export const dryRunReport = z.object({
  dry_run: z.literal(true),
  dataset: z.string(),
  contract: z.string().nullable(),
  outcome: z.enum(['MERGE', 'MERGE_PARTIAL', 'REJECT']),
  stage: z.enum(['INGEST', 'VALIDATE']).nullable().describe('The stage that would decide a rejection'),
  error_code: z.string().nullable(),
  reason: z.string().nullable(),
  total_rows: z.number(),
  rejected_rows: z.number(),
  rejections: z.array(rejectedRow),
  unreferenced_files: z.array(z.string()),
  warnings: z.array(z.string()),
});
/** The dry run's form, for the document only (the route reads the parts as a stream). */
export const validateForm = z.unknown().meta({
  type: 'object',
  required: ['dataset', 'file'],
  properties: {
    dataset: { type: 'string' },
    contract: { type: 'string', description: 'name@major.minor.patch' },
    manifest: { type: 'string', description: 'JSON: {"files": [{"path", "role", "sha256"}]}' },
    file: {
      type: 'array',
      items: { type: 'string', format: 'binary' },
      description: 'One part per file, its file name the path in the batch',
    },
  },
});
export const validateHeaders = open({
  'content-type': z.string().optional().describe('multipart/form-data; boundary=... (else 415)'),
});
