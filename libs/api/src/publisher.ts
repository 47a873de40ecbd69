import { z } from 'zod';
import { limit, timestamp, wholeNumber } from './common.ts';

export const publishedQuery = z.object({
  dataset: z.string().min(1).optional(),
  master_version: wholeNumber.optional(),
  limit: limit(),
});

/** A published dataset version: its manifest, quality report and where the data is. */
export const publishedVersion = z.object({
  dataset: z.string(),
  datasetVersion: z.string(),
  sourceHash: z.string(),
  masterVersion: z.number().nullable(),
  location: z.string(),
  checksum: z.string(),
  manifestUri: z.string(),
  qualityReportUri: z.string(),
  generatedAt: timestamp,
  evaluatedAt: timestamp,
  runId: z.string().nullable(),
  declaredBy: z.string().nullable().describe('The dataset whose declaration holds the refresh job'),
  publishedAt: timestamp.optional(),
});
export type PublishedVersion = z.infer<typeof publishedVersion>;
export const publishedList = z.object({ datasets: z.array(publishedVersion) });

export const archiveParams = z.object({ version: z.string().min(1) });
export const archiveRecord = z.object({
  datasetVersion: z.string(),
  dataset: z.string(),
  outcome: z.enum(['published', 'gate_failed', 'run_failed', 'publish_failed']),
  reason: z.string().nullable(),
  prefix: z.string(),
  archivedAt: timestamp.optional(),
});
export const sweepResult = z.object({ swept: z.array(z.string()) });
