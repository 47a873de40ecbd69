import { z } from 'zod';
import { limit, name, open, timestamp } from './common.ts';

const stageStatus = z.enum(['PENDING', 'RUNNING', 'DONE', 'FAILED']);
const stage = z.object({ status: stageStatus, duration_ms: z.number().nullable() });
const attemptStatus = z.enum(['SUBMITTED', 'INGESTING', 'INGESTED', 'REJECTED']);
const contractRef = z.object({ name: z.string(), version: z.string() });

export const batchesQuery = z.object({ dataset: name.optional(), limit: limit() });

/** A batch as the admin list shows it: `status` sums up its fate across the stages. */
export const batchSummary = z.object({
  batch_id: z.string(),
  dataset: z.string(),
  producer: z.string(),
  source: z.string(),
  contract: contractRef,
  status: z.enum(['INGESTING', 'MERGING', 'MERGED', 'QUARANTINED', 'REJECTED']),
  run_id: z.string(),
  created_at: timestamp,
  updated_at: timestamp.describe('When the batch last changed stage'),
  master_version: z.number().nullable(),
  rows_rejected: z.number().nullable(),
  error_code: z.string().nullable(),
  reason: z.string().nullable(),
  report_uri: z.string().nullable(),
  stages: z.object({ ingest: stage, merge: stage }),
});
export type BatchSummary = z.infer<typeof batchSummary>;
export const batchList = z.object({ batches: z.array(batchSummary) });

export const batchIdParams = z.object({ id: z.string().min(1) });

/** A batch as `GET /batches/:id` shows it, with each submission of it. */
export const batchView = z.object({
  batch_id: z.string(),
  dataset: z.string(),
  status: attemptStatus,
  producer: z.string().nullable(),
  source: z.string().nullable(),
  contract: contractRef.nullable(),
  content_hash: z.string().nullable(),
  error_code: z.string().nullable(),
  reason: z.string().nullable(),
  raw_location: z.string().nullable(),
  raw_dvc_file: z.string().nullable(),
  raw_md5: z.string().nullable(),
  report_uri: z.string().nullable(),
  run_id: z.string().nullable(),
  created_at: timestamp.nullable(),
  updated_at: timestamp.nullable(),
  ingested_at: timestamp.nullable(),
  files: z
    .array(
      z.object({
        path: z.string(),
        role: z.string(),
        sha256: z.string(),
        md5: z.string(),
        size_bytes: z.number(),
      }),
    )
    .nullable()
    .describe('The files as ingested, with the checksums taken as they were copied; null until ingested'),
  merge: z
    .object({
      status: z.enum(['MERGED', 'REJECTED']),
      master_version: z.number().nullable(),
      rows_rejected: z.number().nullable(),
      error_code: z.string().nullable(),
      reason: z.string().nullable(),
      report_uri: z.string().nullable(),
      unreferenced_files: z
        .array(z.string())
        .describe('Files of the batch no row links to: kept in its raw snapshot, not merged'),
      decided_at: timestamp,
    })
    .nullable()
    .describe("The preprocessor's decision once known"),
  attempts: z.array(
    z.object({
      content_hash: z.string(),
      source: z.string(),
      status: attemptStatus,
      error_code: z.string().nullable(),
      reason: z.string().nullable(),
      report_uri: z.string().nullable(),
      run_id: z.string().nullable(),
      submitted_at: timestamp,
      decided_at: timestamp.nullable(),
    }),
  ),
});
export type BatchView = z.infer<typeof batchView>;

/**
 * The upload's headers: the body is `multipart/form-data`, read as a stream (fields `dataset`,
 * `batch_id`, optional `contract`, `producer`, `source`, `schema_version`, `manifest`, `attributes`,
 * then one file part per file named by its path in the batch).
 */
export const uploadHeaders = open({
  'content-type': z.string().optional().describe('multipart/form-data; boundary=... (else 415)'),
  'content-length': z.string().regex(/^\d+$/).optional(),
});

/**
 * The upload's form, for the document only: the route reads the parts as a stream (`req.parts()`),
 * so nothing is parsed or buffered before it; the route checks the fields itself.
 */
export const uploadForm = z.unknown().meta({
  type: 'object',
  required: ['dataset', 'batch_id', 'file'],
  properties: {
    dataset: { type: 'string' },
    batch_id: { type: 'string' },
    contract: { type: 'string', description: "name@major.minor.patch; else the dataset's current contract" },
    producer: { type: 'string' },
    source: { type: 'string', enum: ['HTTP', 'CLI'] },
    schema_version: { type: 'string' },
    manifest: { type: 'string', description: 'JSON: {"files": [{"path", "sha256", "size", "role"}]}' },
    attributes: { type: 'string', description: 'JSON object' },
    file: {
      type: 'array',
      items: { type: 'string', format: 'binary' },
      description: 'One part per file, its file name the path in the batch',
    },
  },
});

/** The answer to an accepted upload (202): where to follow it. */
export const uploadAccepted = z.object({
  batch_id: z.string(),
  dataset: z.string(),
  content_hash: z.string(),
  run_id: z.string(),
  trace_id: z.string(),
  files: z.number(),
  status_url: z.string(),
  earlier_decision: z
    .object({
      status: z.enum(['INGESTED', 'REJECTED']),
      error_code: z.string().nullable(),
      reason: z.string().nullable(),
      report_uri: z.string().nullable(),
      decided_at: timestamp.nullable(),
      stands: z.boolean(),
      message: z.string(),
    })
    .nullable()
    .describe('The decision already made on the same content under this id, if any'),
});
export type UploadAccepted = z.infer<typeof uploadAccepted>;
