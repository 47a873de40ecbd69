import { z } from 'zod';
import { anyObject, fieldChange, limit, open, timestamp } from './common.ts';

/** The catalog routes every catalog-holding service mounts under `/admin` (the ingestor's). */
const resource = z.object({ source: z.string().optional(), spec: z.unknown() });
export const catalogApplyBody = z.strictObject({
  datasets: z.array(resource).default([]),
  contracts: z.array(resource).default([]),
  prune: z.boolean().default(false),
  force: z.boolean().default(false),
  dry_run: z.boolean().default(false),
  actor: z.string().min(1).optional(),
});
export const catalogHistoryQuery = z.object({
  name: z.string().min(1).optional(),
  limit: limit(1000),
});
export const catalogRemoveQuery = z.object({
  force: z.enum(['true', 'false']).default('false'),
  actor: z.string().min(1).optional(),
});
export const datasetNameParams = z.object({ name: z.string().min(1) });

export const catalogChange = z.object({
  revision: z.number(),
  kind: z.enum(['dataset', 'contract']),
  name: z.string(),
  action: z.enum(['created', 'updated', 'unchanged', 'deleted', 'published']),
  generation: z.number().nullable(),
  actor: z.string(),
  tokenName: z.string().nullable(),
  diff: z.array(fieldChange),
  changedAt: timestamp,
});
export type CatalogChange = z.infer<typeof catalogChange>;

export const catalogApplyResult = z.object({
  dry_run: z.boolean(),
  revision: z.number(),
  changes: z.array(open({ kind: z.string(), name: z.string(), action: z.string() })),
});

/** The parts of a declaration other services and the console read; the rest passes as declared. */
export const datasetSpec = open({
  name: z.string(),
  description: z.string().optional(),
  owners: z.array(z.string()),
  contract: open({ name: z.string(), versions: z.array(z.string()), current: z.string() }),
  retrain_policies: z.array(
    open({ model: z.string(), threshold_rows: z.number(), alias: z.string().optional() }),
  ),
  refresh_jobs: z.array(
    open({ name: z.string(), schedule: z.string().nullable(), on_master_versioned: z.boolean() }),
  ),
});

export const storedDataset = z.object({
  name: z.string(),
  spec: datasetSpec,
  sha256: z.string(),
  generation: z.number(),
  updatedAt: timestamp,
  updatedBy: z.string(),
});
export type StoredDataset = z.infer<typeof storedDataset>;

export const publishedContract = z.object({
  name: z.string(),
  version: z.string(),
  sha256: z.string(),
  body: anyObject,
  publishedAt: timestamp,
  publishedBy: z.string(),
});

/** Every declared dataset (`GET /admin/catalog/datasets`). */
export const catalogDatasets = z.object({ datasets: z.array(storedDataset) });
export const catalogContracts = z.object({ contracts: z.array(publishedContract) });
export const catalogHistory = z.object({ changes: z.array(catalogChange) });
