import type { ContractColumn, DataContract, ImageRules } from '@tributary/contracts';
import type { BatchRejected, MasterVersioned } from '@tributary/events';

/** A row of a batch table: the table's path inside the batch and its 1-based data-row number. */
export interface RowRef {
  file: string;
  row: number;
}

export type TableFormat = 'csv' | 'json' | 'parquet';

/** Consecutive rows of one table, column-major, as the validator takes them. */
export interface TableChunk {
  /** 0-based index of the chunk's first row in its table. */
  start: number;
  rowCount: number;
  /** Values by contract column; a column absent from the table has no entry. */
  values: Record<string, unknown[]>;
}

/**
 * Rows of one table that break a contract rule, found by the engine: their 1-based row numbers,
 * the rule each contract column breaks (null: none; `ASK_JS`: the JavaScript validator decides)
 * and the values of the table's contract columns as the JavaScript validator takes them.
 */
export interface FailingRows {
  rows: number[];
  rules: Record<string, (string | null)[]>;
  values: Record<string, unknown[]>;
}

export interface PartStats {
  rows: number;
  /** Zone map: smallest and largest value of the leading primary-key column, as text. */
  keyMin: string | null;
  keyMax: string | null;
}

/** A part's zone map, to find the parts that may hold a batch's keys without reading them. */
export interface PartZone {
  partNo: number;
  keyMin: string;
  keyMax: string;
}

/** One batch's tables in the embedded table engine, from raw files to a master part. */
export interface TableSession {
  /** Reads a table of the batch into the master's types, running the contract's checks on the way. */
  stage(
    file: string,
    localPath: string,
    format: TableFormat,
    columns: readonly ContractColumn[],
  ): Promise<{ rows: number; columns: string[] }>;
  /**
   * The fast path of a batch that is one table without images: reads the file once, checking
   * every row on the way, and writes its part (`out`) in key order. Undefined, with nothing
   * written, when a row fails a check or two rows share a key or a unique value: the batch then
   * takes the full path (stage, failingRows, ... writeBatchPart), which reports each bad row.
   */
  writeCleanPart(
    file: string,
    localPath: string,
    format: TableFormat,
    columns: readonly ContractColumn[],
    primaryKey: readonly string[],
    batchId: string,
    out: string,
  ): Promise<PartStats | undefined>;
  chunks(file: string, columns: readonly ContractColumn[]): AsyncIterable<TableChunk>;
  /** The contract's checks run by the engine over every row; yields only the rows that fail one. */
  failingRows(file: string, columns: readonly ContractColumn[]): AsyncIterable<FailingRows>;
  /** The staged tables as one batch; returns rows whose accepted value did not convert. */
  buildTyped(): Promise<RowRef[]>;
  /** Groups of rows sharing the same values in `columns` (all non-null). */
  duplicates(columns: readonly string[]): Promise<{ values: string[]; rows: RowRef[] }[]>;
  markBad(rows: readonly RowRef[]): Promise<void>;
  /** Image paths of the rows not marked bad. */
  imageRefs(
    imageColumn: string,
    primaryKey: readonly string[],
  ): Promise<(RowRef & { path: string; key: Record<string, string | null> })[]>;
  mapImages(mapping: ReadonlyMap<string, string>): Promise<void>;
  writeBatchPart(
    columns: readonly ContractColumn[],
    primaryKey: readonly string[],
    imageColumn: string | undefined,
    batchId: string,
    out: string,
  ): Promise<PartStats>;
  /** Parts whose zone contains a leading-key value of `batchPart`. */
  candidateParts(
    batchPart: string,
    zones: readonly PartZone[],
    leadingKey: ContractColumn,
  ): Promise<number[]>;
  /** Rows of `part` whose key is also in `batchPart`. */
  countMatches(part: string, batchPart: string, primaryKey: readonly string[]): Promise<number>;
  /** `source` without the rows whose key is in `removeKeysOf`. */
  rewritePart(
    source: string,
    removeKeysOf: string,
    primaryKey: readonly string[],
    out: string,
  ): Promise<PartStats>;
  mergeParts(sources: readonly string[], primaryKey: readonly string[], out: string): Promise<PartStats>;
  /** Rows per non-null value of `imageColumn` over the rows of `sources`. */
  imageCounts(sources: readonly string[], imageColumn: string): Promise<Map<string, number>>;
  /** Rows per non-null value of `imageColumn` over the rows of `part` whose key is also in `batchPart`. */
  replacedImageCounts(
    part: string,
    batchPart: string,
    primaryKey: readonly string[],
    imageColumn: string,
  ): Promise<Map<string, number>>;
  close(): void;
}

export interface TablesEngine {
  session(): Promise<TableSession>;
}

/** Limits that hold whatever a contract allows. */
export interface ImageCeilings {
  maxBytes: number;
  maxPixels: number;
}

export type ImageResult =
  { ok: true; bytes: Buffer; relpath: string; md5: string; size: number } | { ok: false; reason: string };

export interface ImageProcessor {
  /** Checks one image against the contract's rules and returns its canonical form or why not. */
  canonicalise(bytes: Buffer, rules: ImageRules, ceilings: ImageCeilings): Promise<ImageResult>;
}

/** The object store as the preprocessor uses it (raw batches, DVC objects, reports, .dvc files). */
export interface DataStore {
  readonly uri: string;
  /** Key prefix of a raw batch directory from its URI (raw_location). */
  rawPrefixOf(rawLocation: string): string;
  /** A local path holding the object's bytes (the object itself on a filesystem store). */
  localCopy(key: string, workDir: string): Promise<string>;
  /** An object's bytes, or undefined when it does not exist. */
  read(key: string): Promise<Buffer | undefined>;
  /** Up to `bytes` first bytes of a local copy `localCopy` gave. */
  readHead(localPath: string, bytes: number): Promise<Buffer>;
  /** Stores a DVC object (content-addressed) unless it is already there. */
  putDvcObject(md5: string, source: string | Buffer): Promise<void>;
  /** Local path of a DVC object. */
  localDvcObject(md5: string, workDir: string): Promise<string>;
  deleteDvcObjects(md5s: readonly string[]): Promise<void>;
  put(key: string, body: string | Buffer): Promise<string>;
  uriOf(key: string): string;
}

export interface MasterFile {
  relpath: string;
  kind: 'part' | 'image';
  md5: string;
  size: number;
  rowCount: number | null;
  partNo: number | null;
  keyMin: string | null;
  keyMax: string | null;
}

/** The committed state of a master that a merge starts from. */
export interface MasterState {
  version: number;
  nextPart: number;
  schemaFingerprint: string | null;
  files: MasterFile[];
  /**
   * Whether `image_refs` holds the master's reference counts; false for a master committed before
   * they existed (its next merge with an image column counts every part once).
   */
  imageRefsReady: boolean;
}

/** New reference counts of images (rows of the new version linking to each); 0 drops the count. */
export interface ImageRefsUpdate {
  /** True: `refs` is the complete set (every other count of the dataset goes). */
  reset: boolean;
  refs: { relpath: string; refs: number }[];
}

export interface BatchRecord {
  contentHash: string;
  outcome: 'merged' | 'rejected';
  masterVersion: number | null;
}

/** Everything a merge commits, in one transaction. */
export interface MergeCommit {
  dataset: string;
  expectedVersion: number;
  version: number;
  nextPart: number;
  schemaFingerprint: string;
  checksum: string;
  rowCount: number;
  rowsAdded: number;
  rowsUpdated: number;
  rowsRejected: number;
  batchId: string;
  /** Run (trace) id of the merge, kept on the version row for lineage. */
  runId: string;
  contentHash: string;
  rawChecksums: Record<string, string>;
  contract: { name: string; version: string };
  location: string;
  dvcFile: string;
  dvcFileKey: string;
  dvcFileText: string;
  reportUri: string | null;
  mergeStartedAt: Date;
  addedFiles: MasterFile[];
  removedRelpaths: string[];
  /** Image reference counts that change; null when the master has no image column. */
  imageRefs: ImageRefsUpdate | null;
  partsWritten: number;
}

/** A rejection to record (and announce) for a batch that merges nothing. */
export interface RejectionRecord {
  dataset: string;
  batchId: string;
  contentHash: string;
  rowsRejected: number;
  reportUri: string | null;
}

/** What the merge commits announce; built by the use case, enqueued by the repository. */
export interface Announcements {
  masterVersioned: MasterVersioned;
  batchRejected?: BatchRejected;
}

export interface MasterRepository {
  batchRecord(batchId: string): Promise<BatchRecord | undefined>;
  state(dataset: string): Promise<MasterState>;
  /** Current reference counts of these images (absent: no row of the current version links to it). */
  imageRefs(dataset: string, relpaths: readonly string[]): Promise<Map<string, number>>;
  recordIntent(dataset: string, batchId: string, md5s: readonly string[]): Promise<void>;
  /** Intents older than `graceMs` whose object no committed master file uses. */
  orphans(dataset: string, graceMs: number): Promise<string[]>;
  forgetIntents(dataset: string, md5s: readonly string[]): Promise<void>;
  /** Commits a version; `beforeCommit` runs inside the transaction after the fence (writes the .dvc file). */
  commitMerge(commit: MergeCommit, events: Announcements, beforeCommit: () => Promise<void>): Promise<void>;
  /** Records a rejected batch and its batch.rejected event; false when it was already recorded. */
  commitRejection(rejection: RejectionRecord, event: BatchRejected): Promise<boolean>;
  /** Announces a conflicting re-submission once per event id; false when already announced. */
  commitConflict(eventId: string, event: BatchRejected): Promise<boolean>;
}

export type { DataContract };

/** Scratch folders on the local disk, one per batch's work (domain/ does no file-system I/O itself). */
export interface ScratchSpace {
  /** A new empty folder. */
  create(): Promise<string>;
  /** Removes a folder `create` made, with what it holds. */
  remove(dir: string): Promise<void>;
}
