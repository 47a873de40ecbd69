import type { qualityGate } from '@tributary/api';
import type { RefreshJob } from '@tributary/catalog';
import type { QualityEvaluated, RefreshTrigger } from '@tributary/events';

/** One row of a source or of the candidate, as read from JSONL, CSV or Parquet. */
export type Row = Record<string, unknown>;

/** A canonical source file the refresh reads (`REFRESH_SOURCES`), pinned by the sha256 of its bytes. */
export interface FileSourceRef {
  name: string;
  uri: string;
  sha256: string;
  schema_version: string;
  master?: undefined;
}

/**
 * The master of the refreshed dataset as a source (`{"name", "master": true, "schema_version"}`): the
 * version a master.versioned run was started for, else the latest version the gate has seen.
 */
export interface MasterSourceRef {
  name: string;
  master: true;
  schema_version: string;
}

/** A source of the refresh (`REFRESH_SOURCES`). */
export type SourceRef = FileSourceRef | MasterSourceRef;

/** A master version as announced by master.versioned: where its DVC directory is and its hash. */
export interface MasterVersion {
  dataset: string;
  version: number;
  /** URI of the version's directory: `<store>/master/<dataset>/<dataset>-v<version>` (older versions: `…/v<version>`). */
  location: string;
  /** DVC hash of the directory (`<md5>.dir`). */
  checksum: string;
  rowCount: number;
}

/** The master versions the gate has seen (every master.versioned of its dataset). */
export interface MasterVersions {
  /** Records a version; recording it again changes nothing. */
  record(master: MasterVersion): Promise<void>;
  get(dataset: string, version: number): Promise<MasterVersion | undefined>;
  /** The highest version seen, if any. */
  latest(dataset: string): Promise<MasterVersion | undefined>;
}

/**
 * Lists a master version's Parquet parts from its DVC `.dir` object (whose md5 is checked). Throws an
 * AppError: retriable when the object is missing or unreadable, not when its checksum does not match.
 */
export interface MasterReader {
  /** The version's Parquet parts from its `.dir` object (checked), for an engine to stream. */
  parts(master: MasterVersion): Promise<{ relpath: string; uri: string; md5: string }[]>;
}

/** Reference distribution of one column: category shares, or a sample of numeric values. */
export type ColumnBaseline =
  { type: 'categorical'; frequencies: Record<string, number> } | { type: 'numeric'; values: number[] };

/** A named baseline the gate compares a candidate against (`baseline_eval_v1` first). */
export interface Baseline {
  name: string;
  /** Values of the stratification column a candidate must contain (its slices). */
  required_slices: string[];
  /** Reference values of the scalar metrics, reported as `baseline` and `delta`. */
  metrics: { diversity?: number | undefined; toxicity?: number | undefined };
  /** Columns checked for drift. */
  columns: Record<string, ColumnBaseline>;
}

/** Where candidates and reports are written; returns the URI of the written object. */
export interface ArtifactStore {
  /** Writes an artifact with its tags (object metadata where the store keeps it); answers its URI. */
  put(key: string, body: Buffer | string, tags?: Record<string, string>): Promise<string>;
}

/** Scores text for toxicity; pluggable (the default is an offline word-list matcher). */
export interface ToxicityScorer {
  readonly name: string;
  isToxic(text: string): boolean;
}

/** A deterministic random source in [0, 1), seeded per run. */
export type Random = () => number;

/** One value an augmentation rewrites, with the row's sampling key (see docs/dataset-refresh.md). */
export interface AugmentInput {
  key: string;
  value: string;
}

/**
 * A pluggable augmentation of one string column in code: the engine streams the candidate's values
 * to it in bounded batches. It must be deterministic given each row's key and the seed (never the
 * batch boundaries or the row order), so any engine and batch size give the same candidate.
 */
export interface CodeAugmentation {
  readonly kind?: undefined;
  readonly name: string;
  readonly column: string;
  /**
   * What a cluster engine runs instead of `apply` (the same draws, its own code); undefined: the
   * augmentation runs on the embedded engine only.
   */
  readonly cluster?: { kind: 'image_hflip'; probability: number };
  /** The rewritten values, one per input, in order. */
  apply(batch: readonly AugmentInput[], seed: number): Promise<string[]>;
}

/**
 * A declared augmentation written as a DuckDB SQL expression over the row's columns (the job's
 * `augmentation.sql`): a row's non-null `column` becomes the expression's value (as text) when its
 * draw `<seed>:<name>:<key>` falls under `probability`. Every engine evaluates it with DuckDB.
 */
export interface SqlAugmentation {
  readonly kind: 'sql';
  readonly name: string;
  readonly column: string;
  readonly expression: string;
  readonly probability: number;
}

/** A pluggable augmentation: in code, or a SQL expression. */
export type Augmentation = CodeAugmentation | SqlAugmentation;

/** A source resolved to the objects to read, each pinned by its checksum. */
export type ResolvedSource =
  | { kind: 'file'; name: string; uri: string; sha256: string }
  | {
      kind: 'master';
      name: string;
      master: MasterVersion;
      /** The version's Parquet parts in relpath order, each pinned by its md5 (DVC object). */
      parts: { relpath: string; uri: string; md5: string }[];
    };

/** One source as read: its checksum (sha256 of a file, the DVC hash of a master) and where it was. */
export interface SourceRead {
  name: string;
  checksum: string;
  rows: number;
  uri?: string;
  master_version?: number;
  location?: string;
}

/** What generate_candidate samples and augments (the job's sampling and augmentation settings). */
export interface CandidateSpec {
  stratifyColumn: string;
  fraction: number;
  seed: number;
  /** Column word dropout rewrites; null: none. */
  textColumn: string | null;
  textDropout: number;
  /** Pluggable augmentations, applied in order after word dropout. */
  augmentations: readonly Augmentation[];
}

/** The candidate as written: JSON Lines (what the publisher reads) and Parquet beside it. */
export interface CandidateWritten {
  uri: string;
  parquetUri: string;
  /** sha256 of the JSON Lines bytes. */
  checksum: string;
  rows: number;
}

/** Context of one engine call: where its logs go, the run's trace, and what cancels it. */
export interface EngineContext {
  /** Lines to copy into the run's task log (a cluster job's logs). */
  log: (line: string) => void;
  /** Trace id of the run (the `run_id`), carried by a cluster job. */
  runId: string;
  /** W3C traceparent of the run, when traced. */
  traceparent: string | undefined;
  /**
   * Aborted when the run is cancelled (the reason is domain/cancellation.ts's error) or its
   * engine_timeout passes.
   */
  signal: AbortSignal;
}

/** One run's working state on an engine (its scratch database, or its cluster job). */
export interface EngineRun {
  /** Reads and verifies one source (its checksum computed while streaming). */
  ingest(source: ResolvedSource, ctx: EngineContext): Promise<SourceRead>;
  /** Samples and augments the candidate and writes it under `prefix` with its tags. */
  generate(
    spec: CandidateSpec,
    out: { prefix: string; tags: Record<string, string> },
    ctx: EngineContext,
  ): Promise<CandidateWritten>;
  /** The gate's metrics of the candidate and the baseline slices it lacks. */
  measure(
    baseline: Baseline,
    settings: { stratifyColumn: string; textColumn: string | null; thresholds: Thresholds },
    toxicity: ToxicityScorer,
  ): Promise<{ metrics: MetricResult[]; gaps: string[] }>;
  /** Removes the run's scratch state (and stops a job still running). */
  close(): Promise<void>;
}

/** Where sampling and augmentation run: embedded DuckDB, or a cluster. */
export interface RefreshEngine {
  readonly name: string;
  open(datasetVersion: string): Promise<EngineRun>;
}

/**
 * A refresh job in force with where its settings come from: a job declared in the catalog, or the
 * implicit job of the old environment settings. A run reads it at its start and stores it.
 */
export interface JobSettings {
  /** The job's (evaluation set's) name: the `dataset` of its quality.evaluated. */
  job: string;
  /** The declared dataset of the job, whose master a master source reads. */
  dataset: string;
  /** The job as declared (the env job in the same shape); a stored run's has no baseline seed. */
  spec: RefreshJob;
  origin: 'catalog' | 'env';
  /** Catalog revision the settings were read at; null for the env job. */
  catalogRevision: number | null;
}

/** A refresh run as stored (one row per dataset_version). */
export interface RefreshRun {
  datasetVersion: string;
  /** The refresh job (evaluation set) of the run. */
  job: string;
  /** The declared dataset of the job (whose master a master source reads). */
  dataset: string;
  trigger: RefreshTrigger;
  /** Minute the schedule fired for; unique, so a scheduled run happens once across replicas. */
  scheduledFor: string | null;
  masterVersion: number | null;
  /** Trace id of the run (the `run_id` of its quality.evaluated); kept across retries. Null for older runs. */
  runId: string | null;
  /** W3C traceparent of the run's span at its start, continued by its retries. Null for older runs. */
  traceparent: string | null;
  /** `cancelled`: by an operator (POST /admin/runs/:version/cancel), with the reason. */
  status: 'running' | 'retrying' | 'passed' | 'failed' | 'cancelled';
  /** 1 for the first execution, 2 for the first retry, ... */
  attempt: number;
  nextAttemptAt: string | null;
  failedTask: string | null;
  reason: string | null;
  sourceHash: string | null;
  reportUri: string | null;
  candidateUri: string | null;
  startedAt: string;
  finishedAt: string | null;
  /** Last sign of life of the replica executing the run (touched between tasks). */
  heartbeatAt: string;
  /** The job's settings the run read at its start (null for runs before they were stored). */
  settings: RefreshJob | null;
  settingsOrigin: 'catalog' | 'env' | null;
  /** Catalog revision of `settings` (null for the env job and older runs). */
  catalogRevision: number | null;
}

/** A run's cancellation as the replica executing it sees it. */
export interface RunCancellation {
  /** Aborted, with domain/cancellation.ts's error, once the run is cancelled. */
  readonly signal: AbortSignal;
  /** The cancellation if the run was cancelled (the store is asked when the signal has not fired yet). */
  cancelled(): Promise<Error | undefined>;
  /** Stops watching (the run's execution ended). */
  stop(): void;
}

/** Watches the runs this replica executes for a cancel made on any replica. */
export interface RunCancellations {
  watch(datasetVersion: string): RunCancellation;
}

/** What a run's end writes. */
export type RunOutcome = Pick<
  RefreshRun,
  'status' | 'failedTask' | 'reason' | 'sourceHash' | 'reportUri' | 'candidateUri'
>;

export interface RunStore {
  /**
   * Records a new run; false when a run of the same job for the same scheduled time, or a
   * master.versioned run of the same job and master version (a redelivery), already exists.
   */
  start(
    run: Pick<
      RefreshRun,
      | 'datasetVersion'
      | 'job'
      | 'dataset'
      | 'trigger'
      | 'scheduledFor'
      | 'masterVersion'
      | 'runId'
      | 'traceparent'
      | 'settings'
      | 'settingsOrigin'
      | 'catalogRevision'
    >,
  ): Promise<boolean>;
  /**
   * Touches the heartbeat of a run executing `attempt`, entering `task`; false when the run is no
   * longer that attempt's (it was recovered as stale meanwhile): the caller must stop writing.
   */
  heartbeat(datasetVersion: string, attempt: number, task: string): Promise<boolean>;
  /**
   * Ends a run executing `attempt`; when `event` is given it is enqueued in the same transaction.
   * False (and nothing written) when the run is no longer that attempt's.
   */
  finish(
    datasetVersion: string,
    attempt: number,
    outcome: RunOutcome,
    event: QualityEvaluated | undefined,
  ): Promise<boolean>;
  baseline(name: string): Promise<Baseline | undefined>;
  /**
   * Parks a run executing `attempt - 1` until `dueAt`, when its retry job runs attempt `attempt`.
   * False (and nothing written) when the run is no longer that attempt's.
   */
  scheduleRetry(
    datasetVersion: string,
    attempt: number,
    dueAt: Date,
    failedTask: string,
    reason: string,
  ): Promise<boolean>;
  /**
   * Takes up to `limit` runs `running` with no heartbeat for `staleAfterMs` (row locks with SKIP
   * LOCKED: each goes to one replica) and applies what `decide` answers for each, in one
   * transaction with the event of a final failure.
   */
  recoverStale(
    staleAfterMs: number,
    limit: number,
    decide: (run: StaleRun) => StaleDecision,
  ): Promise<{ run: StaleRun; decision: StaleDecision }[]>;
}

/** A run whose retry is due, claimed by one replica (with the settings it started with). */
export type DueRun = Pick<
  RefreshRun,
  | 'datasetVersion'
  | 'job'
  | 'dataset'
  | 'trigger'
  | 'scheduledFor'
  | 'masterVersion'
  | 'attempt'
  | 'runId'
  | 'traceparent'
  | 'settings'
  | 'settingsOrigin'
  | 'catalogRevision'
>;

/** A run left `running` by a replica that stopped making progress. */
export type StaleRun = Pick<
  RefreshRun,
  | 'datasetVersion'
  | 'job'
  | 'settings'
  | 'trigger'
  | 'scheduledFor'
  | 'masterVersion'
  | 'attempt'
  | 'runId'
  | 'traceparent'
  | 'startedAt'
  | 'heartbeatAt'
> & {
  /** Task the run last entered; null when it never reached one. */
  currentTask: string | null;
};

/** What becomes of a stale run: parked for its next attempt, or ended failed with its event. */
export type StaleDecision =
  | { kind: 'retry'; attempt: number; dueAt: Date; failedTask: string; reason: string }
  | { kind: 'fail'; outcome: RunOutcome; event: QualityEvaluated };

/** One line of quality_report.json (its schema is the report route's, in @tributary/api). */
export type MetricResult = qualityGate.GateMetric;

export interface Thresholds {
  minCoverage: number;
  minDiversity: number;
  maxToxicity: number;
  maxPsi: number;
  maxKs: number;
}
