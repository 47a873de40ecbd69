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
  /** A small artifact (the quality report), whole. */
  read(uri: string): Promise<Buffer>;
}

/** Distinct rows of a candidate and how many were added and removed since the previous version. */
export interface CandidateDiff {
  rows: number;
  added: number;
  removed: number;
  /** Whether the previous version's candidate was found. */
  previous: boolean;
}

/** Candidates, streamed: a refresh may produce one larger than memory. */
export interface CandidateFiles {
  /** Copies the candidate at `uri` to `key` of the published store, hashing it (sha256) on the way. */
  publish(uri: string, key: string): Promise<{ location: string; sha256: string }>;
  /** Compares the candidate at `currentUri` with the published one at `previousKey` (either may be absent). */
  diff(currentUri: string | undefined, previousKey: string | undefined): Promise<CandidateDiff>;
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
  /** When the gate evaluated it (quality.evaluated occurred_at): the order of versions, see latest(). */
  evaluatedAt: string;
  /** Run (trace) id of the refresh that published it; null for versions published before it was kept. */
  runId: string | null;
  /**
   * The dataset whose declaration holds the evaluation set's refresh job, when it was published;
   * null when no declaration had it (or for versions published before it was kept).
   */
  declaredBy: string | null;
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
  /**
   * The latest published version of a dataset (the one the current manifest names): the last one
   * evaluated, whatever the order they were published in; with `before`, the last evaluated before it.
   */
  latest(dataset: string, before?: Date): Promise<CatalogEntry | undefined>;
  /**
   * Runs `fn` while holding the dataset's publish lock (across replicas), so that deciding whether a
   * version becomes current, moving the current manifest and recording it happen one publish at a time.
   */
  withDatasetLock<T>(dataset: string, fn: () => Promise<T>): Promise<T>;
  /** Records the version and enqueues dataset.published in one transaction. */
  recordPublished(entry: CatalogEntry, event: DatasetPublished): Promise<void>;
  findArchive(datasetVersion: string): Promise<ArchiveRecord | undefined>;
  recordArchive(record: ArchiveRecord): Promise<void>;
}

/** The dataset declaring an evaluation set, as far as the publisher needs it. */
export interface EvaluationSetDeclaration {
  dataset: string;
  /** Days the evaluation set's archives are kept. */
  retentionDays: number;
}

/** Injected failure points (PUBLISH_FAULT_INJECTION), to prove the rollback. */
export type FaultPoint = 'none' | 'after_candidate_upload' | 'after_manifest_write';

export type { QualityEvaluated };
