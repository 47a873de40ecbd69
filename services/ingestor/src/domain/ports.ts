import type { DatasetDeclaration } from '@tributary/catalog';
import type { BatchIngested, BatchReady, BatchRejected, BatchSource, FileRole } from '@tributary/events';
import type { Problem } from './batch.ts';

/** State of a batch id (batches.status), and of one content submitted under it (batch_attempts.status). */
export type BatchStatus = 'INGESTING' | 'INGESTED' | 'REJECTED';
export type AttemptStatus = 'SUBMITTED' | BatchStatus;

/** What an ingest needs to know about a submission to claim its batch id. */
export interface BatchClaim {
  batchId: string;
  dataset: string;
  producer: string;
  source: BatchSource;
  contract: { name: string; version: string };
  contentHash: string;
  runId: string;
}

/** The answer of `claim`: go ahead, or what was already decided for this batch id. */
export type ClaimResult =
  /** `reopened`: the id held an earlier rejection of this content that did not stand (see rejectionStands). */
  | { kind: 'claimed'; takeover: boolean; reopened?: { errorCode: string | null; decidedAt: string } }
  | { kind: 'duplicate'; status: 'INGESTED' | 'REJECTED' }
  | {
      kind: 'conflict';
      /** INGESTED: decided; INGESTING: another submission is being ingested right now. */
      existingStatus: 'INGESTED' | 'INGESTING';
      existingDataset: string;
      existingContentHash: string;
    };

/** Where the raw snapshot of an ingested batch is. */
export interface RawSnapshot {
  rawLocation: string;
  rawDvcFile: string;
  /** DVC directory hash, ending with `.dir`. */
  rawMd5: string;
  size: number;
  nfiles: number;
}

/** Why a batch (or one content under a batch id) was refused. */
export interface Rejection {
  errorCode: string;
  reason: string;
  problems: Problem[];
  reportUri: string | null;
  report: Record<string, unknown>;
}

/**
 * The batches table and the outbox. Each `mark*`/`record*` commits the state change and the event
 * announcing it in one transaction, so "recorded" and "event queued" cannot come apart.
 */
export interface BatchRepository {
  /**
   * Takes the batch id for this content, or says what was already decided for it. A rejection of the
   * same content for which `stands(problem codes)` is false is taken again (reopened).
   */
  claim(claim: BatchClaim, stands: (codes: readonly string[]) => boolean): Promise<ClaimResult>;
  /** INGESTING → INGESTED plus batch.ingested; false when this claim no longer holds (another replica won). */
  markIngested(claim: BatchClaim, snapshot: RawSnapshot, event: BatchIngested): Promise<boolean>;
  /** INGESTING → REJECTED plus batch.rejected; false when this claim no longer holds. */
  markRejected(claim: BatchClaim, rejection: Rejection, event: BatchRejected): Promise<boolean>;
  /** A refused conflicting content: recorded once, batch.rejected queued once; the batch row is untouched. */
  recordConflict(claim: BatchClaim, rejection: Rejection, event: BatchRejected): Promise<boolean>;
  /**
   * A submission taken in by HTTP or the landing zone, and its batch.ready, in one transaction.
   * Returns the earlier decision on this content under this id, if any: one that does not stand
   * (`stands(problem codes)` false) is set back to SUBMITTED, so followers wait for the new one.
   */
  recordSubmission(
    claim: BatchClaim,
    event: BatchReady,
    stands: (codes: readonly string[]) => boolean,
  ): Promise<EarlierDecision | undefined>;
  /** Outcome of one content under a batch id, for the landing zone and `--wait`. */
  attemptOutcome(batchId: string, contentHash: string): Promise<AttemptOutcome | undefined>;
  /** Everything known about a batch id, for the status endpoint. */
  find(batchId: string): Promise<BatchView | undefined>;
  /**
   * Records what the preprocessor made of an ingested batch (first decision wins: a redelivery or a
   * later event changes nothing); false when the batch is not an ingested one of ours.
   */
  recordMergeOutcome(batchId: string, dataset: string, outcome: MergeOutcome): Promise<boolean>;
  /** The preprocessor's decision on this content of a batch id, once known. */
  mergeOutcome(batchId: string, contentHash: string): Promise<MergeOutcome | undefined>;
}

/** What the preprocessor made of an ingested batch. */
export type MergeOutcome =
  | {
      status: 'MERGED';
      masterVersion: number;
      /** Rows of this batch quarantined by the contract, and their report (when the version holds only this batch). */
      rowsRejected: number | null;
      reportUri: string | null;
      /** Files of the batch no row links to: kept in its raw snapshot, not merged. */
      unreferencedFiles: string[];
    }
  | { status: 'REJECTED'; errorCode: string; reason: string; reportUri: string | null };

/** A decision already made on one content under a batch id, as told to whoever submits it again. */
export interface EarlierDecision {
  status: 'INGESTED' | 'REJECTED';
  errorCode: string | null;
  reason: string | null;
  reportUri: string | null;
  decidedAt: string | null;
  /** true: this answer is final for this content (idempotent); false: the content is processed again. */
  stands: boolean;
}

export interface AttemptOutcome {
  status: AttemptStatus;
  errorCode: string | null;
  reason: string | null;
  reportUri: string | null;
  runId: string | null;
}

/** Where a batch stands in one stage of the pipeline. */
export type StageStatus = 'PENDING' | 'RUNNING' | 'DONE' | 'FAILED';

/**
 * A batch as the admin list shows it. `status` sums up its fate: INGESTING, MERGING (ingested, the
 * preprocessor has not decided), MERGED, QUARANTINED (merged without some rows) or REJECTED.
 */
export interface BatchSummary {
  batch_id: string;
  dataset: string;
  producer: string;
  source: string;
  contract: { name: string; version: string };
  status: 'INGESTING' | 'MERGING' | 'MERGED' | 'QUARANTINED' | 'REJECTED';
  run_id: string;
  created_at: string;
  /** When the batch last changed stage. */
  updated_at: string;
  master_version: number | null;
  rows_rejected: number | null;
  error_code: string | null;
  reason: string | null;
  report_uri: string | null;
  stages: Record<'ingest' | 'merge', { status: StageStatus; duration_ms: number | null }>;
}

/** A batch as GET /batches/:id shows it. */
export interface IngestedFile {
  path: string;
  role: string;
  sha256: string;
  md5: string;
  size_bytes: number;
}

export interface BatchView {
  batch_id: string;
  dataset: string;
  status: AttemptStatus;
  producer: string | null;
  source: string | null;
  contract: { name: string; version: string } | null;
  content_hash: string | null;
  error_code: string | null;
  reason: string | null;
  raw_location: string | null;
  raw_dvc_file: string | null;
  raw_md5: string | null;
  report_uri: string | null;
  run_id: string | null;
  created_at: string | null;
  updated_at: string | null;
  ingested_at: string | null;
  /** The files as ingested, with the checksums taken as they were copied; null until ingested. */
  files: IngestedFile[] | null;
  /** The preprocessor's decision once known: merged into `master_version`, or rejected. */
  merge: {
    status: MergeOutcome['status'];
    master_version: number | null;
    rows_rejected: number | null;
    error_code: string | null;
    reason: string | null;
    report_uri: string | null;
    unreferenced_files: string[];
    decided_at: string;
  } | null;
  attempts: {
    content_hash: string;
    source: string;
    status: AttemptStatus;
    error_code: string | null;
    reason: string | null;
    report_uri: string | null;
    run_id: string | null;
    submitted_at: string;
    decided_at: string | null;
  }[];
}

/** A declared file copied to local scratch space, with what its bytes hash to. */
export interface StagedFile {
  /**
   * Where the checked bytes are: a scratch copy, or an HTTP upload's staged object in the data
   * store, whose digests the ingestor took as it stored it (so it is not read a second time).
   */
  at: StagedBytes;
  sha256: string;
  md5: string;
  size: number;
}

export type StagedBytes = { localPath: string } | { stagedKey: string };

/** Reads the files a batch.ready points at (file:// or s3://) into scratch space. */
export interface SourceFiles {
  /** A fresh scratch folder for one ingest, removed by `dispose`. */
  workspace(): Promise<{ dir: string; dispose(): Promise<void> }>;
  /**
   * Copies `uri` to `target`, hashing on the way; an upload the ingestor staged itself is taken
   * where it is, with the digests recorded when it was stored. A missing source or a forbidden URI throws a
   * non-retriable AppError with ING_ERR_FILE_MISSING / ING_ERR_SOURCE_NOT_ALLOWED; anything
   * else is an infrastructure failure (retriable).
   */
  stage(uri: string, target: string): Promise<StagedFile>;
  /** Removes copies the ingestor itself staged (HTTP uploads) once their batch is decided. */
  releaseStaged(uris: readonly string[]): Promise<void>;
}

/** The raw area of the data store: batch directories, their DVC snapshot, and reports. */
export interface RawStore {
  /** Copies verified files to raw/<dataset>/<batch_id>/, pushes the DVC objects, writes the .dvc file last. */
  snapshot(
    dataset: string,
    batchId: string,
    files: readonly { path: string; at: StagedBytes; md5: string; size: number }[],
  ): Promise<RawSnapshot>;
  /** Removes whatever an earlier, unfinished attempt left under raw/<dataset>/<batch_id>. */
  clear(dataset: string, batchId: string): Promise<void>;
  /** Stores a rejection report; returns its URI. */
  writeReport(dataset: string, batchId: string, contentHash: string, report: unknown): Promise<string>;
}

/**
 * The dataset catalog as the ingestor reads it (the runtime's `Catalog` is one): the applied
 * declarations, kept current, and the published contracts.
 */
export interface DatasetCatalog {
  /** The declaration of dataset `name`, undefined when it is not declared. */
  dataset(name: string): Promise<DatasetDeclaration | undefined>;
  /** Every declaration as last loaded. */
  datasets(): DatasetDeclaration[];
  /** Loads the declarations again if the catalog changed since. */
  reload(): Promise<void>;
  /**
   * The published contract `name@version`; one that is not published throws the non-retriable
   * CONTRACT_ERR_UNKNOWN, a catalog that cannot be read a retriable error.
   */
  contract(name: string, version: string): Promise<unknown>;
}

/** A file as a submission (HTTP upload, landing zone) describes it before batch.ready is built. */
export interface SubmittedFile {
  path: string;
  uri: string;
  sha256: string;
  size: number;
  role?: FileRole;
  schemaVersion?: string | null;
  /** The file's first bytes, which decide its role when the producer named none. */
  head?: Uint8Array;
}

/** The log calls the use cases make (a pino logger satisfies it). */
export interface UseCaseLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * One batch folder of the landing zone: `<LANDING_DIR>/<folder>/<batch_id>/`, where `folder` is the
 * landing folder of a declared dataset (its name unless the declaration sets `landing.folder`).
 */
export interface LandingRef {
  folder: string;
  batchId: string;
}

/** What the watcher writes into `_PROCESSING` once the batch is announced: enough to settle it later. */
export interface LandingClaim {
  dataset: string;
  batch_id: string;
  content_hash: string;
  run_id: string;
  event_id: string;
  submitted_at: string;
}

/** A batch folder as a scan finds it. */
export interface LandingEntry extends LandingRef {
  ready: boolean;
  /** Holds `_DONE` or `_REJECTED` and nothing to do: a producer's folder that was settled. */
  finished: boolean;
  /** Set when the folder holds `_PROCESSING`: its content (if written yet) and the time since it was claimed. */
  processing?: {
    claim: LandingClaim | undefined;
    ageMs: number;
    /** When the marker last changed (claimed, taken over or touched), as seen by this scan. */
    changedAtMs: number;
  };
}

/** The seed's landing-zone protocol on a shared folder: markers are renamed, never copied. */
export interface LandingZone {
  scan(): Promise<LandingEntry[]>;
  /** `_READY` → `_PROCESSING` by an atomic rename; false when another watcher took it first. */
  claim(ref: LandingRef): Promise<boolean>;
  /** `_PROCESSING` → `_READY` again: the announcement failed for a passing reason, the next scan retries. */
  release(ref: LandingRef): Promise<void>;
  /** Refreshes the age of `_PROCESSING`: the heartbeat of a watcher still announcing a large batch. */
  touch(ref: LandingRef): Promise<void>;
  /**
   * Takes a stale, unannounced `_PROCESSING` over, as a scan saw it (`changedAtMs`); false when
   * another watcher took that one over first.
   */
  takeOver(ref: LandingRef, changedAtMs: number): Promise<boolean>;
  /** The parsed `batch.json`, undefined when absent; a file that is not JSON throws ING_ERR_BAD_MANIFEST. */
  readManifest(ref: LandingRef): Promise<unknown>;
  /** Every data file of the folder (markers, batch.json and dot-files left out), hashed. */
  describeFiles(ref: LandingRef): Promise<SubmittedFile[]>;
  /** Paths of the data files of the folder, not hashed. */
  listFiles(ref: LandingRef): Promise<string[]>;
  /** The file:// URI a path of the folder has (whether or not the file exists). */
  uriOf(ref: LandingRef, path: string): string;
  recordClaim(ref: LandingRef, claim: LandingClaim): Promise<void>;
  /** Leaves `_DONE` or `_REJECTED` (with `body` as JSON) and removes `_PROCESSING`. */
  finish(ref: LandingRef, outcome: 'DONE' | 'REJECTED', body: Record<string, unknown>): Promise<void>;
  deleteFiles(ref: LandingRef, paths: readonly string[]): Promise<void>;
}
