import { AppError } from '@tributary/errors';
import type { RetrainRequested } from '@tributary/events';

/**
 * What a decision concluded. Only `threshold_reached` and, by policy, `no_compatible_run` request a
 * retrain. `undeclared_dataset` and `no_retrain_policy` are decisions for no model: the master version
 * of a dataset the catalog does not declare (and no env policy applies), or one declared without
 * retrain policies.
 */
export type DecisionOutcome =
  | 'threshold_reached'
  | 'below_threshold'
  | 'no_compatible_run'
  | 'no_production_model'
  | 'invalid_production_model'
  | 'invalid_compatible_run'
  | 'invalid_mlflow_answer'
  | 'superseded'
  | 'undeclared_dataset'
  | 'no_retrain_policy';

/** Outcomes of a master version decided for no model. */
export const NOT_DECLARED_OUTCOMES = ['undeclared_dataset', 'no_retrain_policy'] as const;
export type NotDeclaredOutcome = (typeof NOT_DECLARED_OUTCOMES)[number];

/**
 * Where a policy comes from: a `retrain_policies` entry of the dataset's declaration in the catalog,
 * or the implicit policy of the MLFLOW_* / RETRAIN_* settings, which applies to undeclared datasets.
 */
export type PolicySource = 'catalog' | 'environment';

/** How one model's production version and compatible runs are found, and when to retrain it. */
export interface RetrainPolicy {
  source: PolicySource;
  modelName: string;
  alias: string;
  /** Stage used when no version holds the alias; undefined disables the fallback. */
  stage: string | undefined;
  tags: { featureVersion: string; splitVersion: string; modelVersion: string };
  masterRowsMetric: string;
  /** Experiments searched for the last compatible run; all active experiments when undefined. */
  experimentIds: readonly string[] | undefined;
  /** New master rows that trigger a retrain, as in force when the master version is decided. */
  thresholdRows: number;
  requestWhenNoCompatibleRun: boolean;
}

/** The retrain policies that apply to one dataset's master versions. */
export type DatasetPolicies =
  /** Declared in the catalog (`policies` may be empty: a dataset that drives no model). */
  | { kind: 'declared'; policies: RetrainPolicy[]; catalogRevision: number }
  /** Not declared, and the deployment still has the implicit env policy. */
  | { kind: 'implicit'; policy: RetrainPolicy }
  /** Not declared, and there is no env policy. */
  | { kind: 'undeclared'; catalogRevision: number };

/** The policies of a dataset, read when its master version is decided (so a change applies to the next one). */
export interface PolicyCatalog {
  policiesFor(dataset: string): Promise<DatasetPolicies>;
}

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
  /** Threshold of the policy that decided; null for a decision for no model. */
  thresholdRows: number | null;
  outcome: DecisionOutcome;
  requested: boolean;
  reason: string;
  /** The model decided for; null for a master version decided for no model (undeclared, no policy). */
  modelName: string | null;
  /** Which policy decided; null when no policy applied. */
  policySource: PolicySource | null;
  /** Catalog revision the dataset's declaration was read at (null for the env policy). */
  catalogRevision: number | null;
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
  /**
   * The newest finished run whose tags hold all of `tags`, searched in `experimentIds` only (every
   * active experiment when undefined).
   */
  findLastFinishedRun(
    tags: Readonly<Record<string, string>>,
    experimentIds: readonly string[] | undefined,
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
  /** The decision of one master version for one model (null: the decision for no model). */
  find(dataset: string, masterVersion: number, modelName: string | null): Promise<StoredDecision | undefined>;
  /** The highest master version of `dataset` decided so far for `modelName`, if any. */
  latestVersion(dataset: string, modelName: string): Promise<number | undefined>;
  /**
   * Stores the decision and, when `retrain` is given, enqueues the event it builds, in one
   * transaction. When a decision for the same master version and model exists, stores nothing and
   * returns it.
   */
  record(
    decision: Decision,
    retrain: ((decisionId: string) => RetrainRequested) | undefined,
  ): Promise<{ decision: StoredDecision; created: boolean }>;
}

export interface ThresholdStore {
  /** The current RETRAIN_THRESHOLD_ROWS (the implicit env policy's threshold). */
  threshold(): Promise<number>;
}
