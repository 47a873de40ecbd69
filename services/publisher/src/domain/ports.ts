import type { DatasetPublished, QualityEvaluated } from '@tributary/events';

/** The published store (datasets/ and archive/); keys are relative posix paths. */
export interface PublishStore {
  put(key: string, body: Buffer | string): Promise<string>;
  get(key: string): Promise<Buffer | undefined>;
  delete(keys: readonly string[]): Promise<void>;
  uri(key: string): string;
}

/** Reads an artifact the quality-gate wrote, by URI (file:// or s3://). */
export interface ArtifactReader {
  read(uri: string): Promise<Buffer>;
}

/** One dataset version in the metadata catalog. */
export interface CatalogEntry {
  dataset: string;
  datasetVersion: string;
  sourceHash: string;
  masterVersion: number | null;
  location: string;
  checksum: string;
  manifestUri: string;
  qualityReportUri: string;
  generatedAt: string;
  /** Run (trace) id of the refresh that published it; null for versions published before it was kept. */
  runId: string | null;
  publishedAt?: string;
}

export interface ArchiveRecord {
  datasetVersion: string;
  dataset: string;
  /** `run_failed`: the refresh failed before the gate (a task such as ingest_sources). */
  outcome: 'published' | 'gate_failed' | 'run_failed' | 'publish_failed';
  reason: string | null;
  prefix: string;
  archivedAt?: string;
}

export interface PublishRepository {
  findCatalog(datasetVersion: string): Promise<CatalogEntry | undefined>;
  /** The latest published version of a dataset (the one the current manifest names). */
  latest(dataset: string): Promise<CatalogEntry | undefined>;
  /** Records the version and enqueues dataset.published in one transaction. */
  recordPublished(entry: CatalogEntry, event: DatasetPublished): Promise<void>;
  findArchive(datasetVersion: string): Promise<ArchiveRecord | undefined>;
  recordArchive(record: ArchiveRecord): Promise<void>;
  /** Parks a failed publish until `dueAt`, when attempt `attempt` runs (upsert). */
  scheduleRetry(
    evaluated: QualityEvaluated,
    runId: string,
    attempt: number,
    dueAt: Date,
    reason: string,
  ): Promise<void>;
  /** Forgets a parked publish (published, or failed for good). */
  clearRetry(datasetVersion: string): Promise<void>;
}

/** A parked publish whose retry is due, claimed by one replica. */
export interface DuePublish {
  evaluated: QualityEvaluated;
  runId: string;
  attempt: number;
}

/** Injected failure points (PUBLISH_FAULT_INJECTION), to prove the rollback. */
export type FaultPoint = 'none' | 'after_candidate_upload' | 'after_manifest_write';

export type { QualityEvaluated };
