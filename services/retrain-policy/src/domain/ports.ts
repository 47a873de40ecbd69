import { AppError } from '@tributary/errors';
import type { RetrainRequested } from '@tributary/events';

/** What a decision concluded. Only `threshold_reached` and, by policy, `no_compatible_run` request a retrain. */
export type DecisionOutcome =
  | 'threshold_reached'
  | 'below_threshold'
  | 'no_compatible_run'
  | 'no_production_model'
  | 'invalid_production_model'
  | 'invalid_compatible_run'
  | 'invalid_mlflow_answer'
  | 'superseded';

/** A decision with its inputs, as it is stored, traced and served by the admin API. */
export interface Decision {
  dataset: string;
  masterVersion: number;
  /** event_id of the master.versioned the decision answers. */
  masterEventId: string;
  runId: string;
  masterLocation: string;
  masterChecksum: string;
  currentMasterRows: number;
  thresholdRows: number;
  outcome: DecisionOutcome;
  requested: boolean;
  reason: string;
  modelName: string;
  modelRegistryVersion: string | null;
  /** How the production version was found: `alias production` or `stage Production`. */
  modelSelectedBy: string | null;
  productionRunId: string | null;
  featureVersion: string | null;
  splitVersion: string | null;
  modelVersion: string | null;
  lastCompatibleRunId: string | null;
  lastRunMasterRows: number | null;
  newRows: number | null;
}

export interface StoredDecision extends Decision {
  id: string;
  decidedAt: string;
  /** event_id of the retrain.requested enqueued with the decision, if any. */
  retrainEventId: string | null;
}

/** A registered model as the registry describes it. */
export interface RegisteredModel {
  name: string;
  /** Empty when no version has an alias (or the server predates aliases, MLflow < 2.3). */
  aliases: { alias: string; version: string }[];
  /** The latest version in each stage. */
  latestVersions: ModelVersion[];
}

export interface ModelVersion {
  version: string;
  runId: string | null;
  stage: string | null;
}

export interface TrainingRun {
  runId: string;
  experimentId: string;
  tags: Readonly<Record<string, string>>;
  /** Latest value of each metric; NaN and infinities come through as such. */
  metrics: Readonly<Record<string, number>>;
}

/**
 * The model registry and tracking server (MLflow). "Not found" is an answer (undefined); an
 * unreachable server throws a retriable AppError; an answer that makes no sense throws
 * {@link RegistryAnswerError}.
 */
export interface ModelRegistry {
  getRegisteredModel(name: string, signal?: AbortSignal): Promise<RegisteredModel | undefined>;
  getModelVersion(name: string, version: string, signal?: AbortSignal): Promise<ModelVersion | undefined>;
  getRun(runId: string, signal?: AbortSignal): Promise<TrainingRun | undefined>;
  /** The newest finished run whose tags hold all of `tags`. */
  findLastFinishedRun(
    tags: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<TrainingRun | undefined>;
}

/** The registry answered something the service cannot use: recorded as a decision, never retried. */
export class RegistryAnswerError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('RTP_ERR_MLFLOW_ANSWER', message, { retriable: false, details });
  }
}

export interface DecisionStore {
  find(dataset: string, masterVersion: number): Promise<StoredDecision | undefined>;
  /** The highest master version of `dataset` decided so far, if any. */
  latestVersion(dataset: string): Promise<number | undefined>;
  /**
   * Stores the decision and, when `retrain` is given, enqueues the event it builds, in one
   * transaction. When a decision for the same master version exists, stores nothing and returns it.
   */
  record(
    decision: Decision,
    retrain: ((decisionId: string) => RetrainRequested) | undefined,
  ): Promise<{ decision: StoredDecision; created: boolean }>;
}

export interface ThresholdStore {
  /** The current RETRAIN_THRESHOLD_ROWS. */
  threshold(): Promise<number>;
}
