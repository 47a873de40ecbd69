/**
 * What each service answers about its part of a chain: the fields lineage uses from the ingestor's
 * `GET /batches/:id`, the preprocessor's master versions, the quality-gate's runs, the publisher's
 * catalog and the retrain-policy's decisions.
 */

/** `GET /batches/:id` of the ingestor (the fields lineage uses). */
export interface BatchFact {
  batch_id: string;
  dataset: string;
  status: string;
  content_hash: string | null;
  raw_location: string | null;
  raw_dvc_file: string | null;
  raw_md5: string | null;
  run_id: string | null;
}

/** `GET /masters/:dataset/versions/:version` of the preprocessor. */
export interface MasterVersionFact {
  dataset: string;
  version: number;
  checksum: string;
  row_count: number;
  location: string;
  dvc_file: string;
  batch_ids: string[];
  raw_checksums: unknown;
  /** Run (trace) id of the merge; absent or null for versions committed before it was kept. */
  run_id?: string | null;
  committed_at: string;
}

/** One of `GET /admin/runs` of the quality-gate. */
export interface QualityRunFact {
  datasetVersion: string;
  /** The refresh job (evaluation set); absent from quality-gates before jobs. */
  job?: string;
  dataset: string;
  /** What started it: `MASTER_VERSIONED` (the master version's own run), `SCHEDULE` or `MANUAL`. */
  trigger?: string;
  startedAt?: string;
  masterVersion: number | null;
  status: string;
  reason: string | null;
  sourceHash: string | null;
  reportUri: string | null;
  candidateUri: string | null;
  finishedAt: string | null;
  /** Run (trace) id of the refresh; absent or null for runs recorded before it was kept. */
  runId?: string | null;
}

/** One of `GET /admin/catalog` of the publisher. */
export interface CatalogFact {
  dataset: string;
  datasetVersion: string;
  masterVersion: number | null;
  location: string;
  checksum: string;
  manifestUri: string;
  qualityReportUri: string;
  publishedAt?: string;
  /** Run (trace) id of the refresh that published it; absent or null before it was kept. */
  runId?: string | null;
}

/** One of `GET /admin/decisions` of the retrain-policy. */
export interface DecisionFact {
  id: string;
  dataset: string;
  masterVersion: number;
  /** The declared model decided for; null for a dataset with no retrain policy (or undeclared). */
  modelName?: string | null;
  runId: string;
  outcome: string;
  requested: boolean;
  reason: string;
  masterChecksum: string;
  retrainEventId: string | null;
  decidedAt: string;
}

/** What a service answered: the value, nothing (404 or no match), or why it could not be asked. */
export type Answer<T> = { value: T } | { missing: true } | { unavailable: string };

export interface LineageFacts {
  dataset: string | null;
  batches: { batchId: string; answer: Answer<BatchFact> }[];
  master: Answer<MasterVersionFact>;
  qualityRuns: Answer<QualityRunFact[]>;
  catalog: Answer<CatalogFact[]>;
  decisions: Answer<DecisionFact[]>;
  /** Set when the query was by dataset version: the quality run and catalog entry to pick. */
  datasetVersion?: string;
}
