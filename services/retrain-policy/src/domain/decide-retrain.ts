import { eventTime, newEventId, type MasterVersioned, type RetrainRequested } from '@tributary/events';
import { withSpan } from '@tributary/telemetry';
import {
  RegistryAnswerError,
  type Decision,
  type DecisionOutcome,
  type DecisionStore,
  type ModelRegistry,
  type ModelVersion,
  type NotDeclaredOutcome,
  type PolicyCatalog,
  type RetrainPolicy,
  type StoredDecision,
} from './ports.ts';

export interface DecideRetrainDeps {
  registry: ModelRegistry;
  decisions: DecisionStore;
  policies: PolicyCatalog;
}

export interface DecideRetrainResult {
  decision: StoredDecision;
  /** False when the master version had been decided before for this model (a redelivery): nothing was done. */
  created: boolean;
}

/** The production model configuration read from the registry. */
interface ProductionModel {
  registryVersion: string;
  selectedBy: string;
  runId: string;
  featureVersion: string;
  splitVersion: string;
  modelVersion: string;
}

type Step<T> = { ok: true; value: T } | { ok: false; outcome: DecisionOutcome; reason: string };

/**
 * The seed's retrain_policy_dag for one new master version, once per model its dataset drives: the
 * dataset's declaration in the catalog names the models (retrain policies); an undeclared dataset
 * uses the implicit env policy when the deployment still has one, and otherwise, like a declared
 * dataset without retrain policies, is decided for no model (stored, nothing requested).
 *
 * Each model is decided on its own (see {@link decideForModel}), in its own span; `onDecided` sees
 * each decision as it is made. When one model's decision fails (MLflow unreachable), the others are
 * still decided and the first failure is thrown afterwards: the retried message then decides only
 * the models that are still undecided.
 */
export async function decideRetrain(
  master: MasterVersioned,
  ctx: { runId: string; signal?: AbortSignal },
  deps: DecideRetrainDeps,
  onDecided: (result: DecideRetrainResult) => void = () => undefined,
): Promise<DecideRetrainResult[]> {
  const found = await deps.policies.policiesFor(master.dataset);
  if (found.kind === 'undeclared' || (found.kind === 'declared' && found.policies.length === 0)) {
    const result = await decideForNoModel(master, ctx.runId, found.kind, found.catalogRevision, deps);
    onDecided(result);
    return [result];
  }
  const policies = found.kind === 'implicit' ? [found.policy] : found.policies;
  const catalogRevision = found.kind === 'declared' ? found.catalogRevision : null;
  const results: DecideRetrainResult[] = [];
  let failure: { error: unknown } | undefined;
  for (const policy of policies) {
    try {
      const result = await withSpan(
        'retrain decision',
        { 'retrain.model_name': policy.modelName, 'retrain.policy_source': policy.source },
        async () => {
          const decided = await decideForModel(master, ctx, policy, catalogRevision, deps);
          onDecided(decided);
          return decided;
        },
      );
      results.push(result);
    } catch (err) {
      failure ??= { error: err };
    }
  }
  if (failure) throw failure.error;
  return results;
}

/**
 * A master version for which no model is retrained, recorded once (model_name '' in the table) so
 * that operators see it in the decisions with its reason.
 */
async function decideForNoModel(
  master: MasterVersioned,
  runId: string,
  kind: 'undeclared' | 'declared',
  catalogRevision: number,
  deps: DecideRetrainDeps,
): Promise<DecideRetrainResult> {
  const existing = await deps.decisions.find(master.dataset, master.master_version, null);
  if (existing) return { decision: existing, created: false };
  const outcome: NotDeclaredOutcome = kind === 'undeclared' ? 'undeclared_dataset' : 'no_retrain_policy';
  const reason =
    outcome === 'undeclared_dataset'
      ? `dataset "${master.dataset}" is not declared in the catalog (revision ${catalogRevision}) and no ` +
        `MLFLOW_MODEL_NAME policy applies to undeclared datasets: nothing is retrained; declare it in ` +
        `datasets/${master.dataset}.yaml with retrain_policies (docs/onboarding.md)`
      : `dataset "${master.dataset}" is declared without retrain_policies (catalog revision ` +
        `${catalogRevision}): it drives no model, so nothing is retrained`;
  return deps.decisions.record(
    {
      ...knownInputs(master, runId, undefined, catalogRevision),
      outcome,
      requested: false,
      reason,
    },
    undefined,
  );
}

/**
 * One model's decision: load its production model configuration, find the last finished run with
 * the same feature/split/model versions in the policy's experiments, compare its master rows metric
 * with the master's row count, and request a retrain when the growth reaches the policy's threshold.
 * The decision is stored whatever it is; a retrain.requested is enqueued with it in the same
 * transaction, so each master version is decided, and requested, at most once per model.
 */
async function decideForModel(
  master: MasterVersioned,
  ctx: { runId: string; signal?: AbortSignal },
  policy: RetrainPolicy,
  catalogRevision: number | null,
  deps: DecideRetrainDeps,
): Promise<DecideRetrainResult> {
  const existing = await deps.decisions.find(master.dataset, master.master_version, policy.modelName);
  if (existing) return { decision: existing, created: false };

  const known = knownInputs(master, ctx.runId, policy, catalogRevision);
  // The seed compares with CURRENT_MASTER_ROWS, the latest master: a version older than one already
  // decided for this model (a late redelivery, a dead letter replayed) is not the current master any
  // more, and a retrain on it would train on stale data.
  const latest = await deps.decisions.latestVersion(master.dataset, policy.modelName);
  if (latest !== undefined && latest > master.master_version) {
    return deps.decisions.record(
      {
        ...known,
        outcome: 'superseded',
        requested: false,
        reason: `master version ${master.master_version} is older than version ${latest}, already decided: it is not the current master`,
      },
      undefined,
    );
  }
  let verdict: Verdict;
  try {
    verdict = await assess(master, known, ctx.signal, deps.registry, policy);
  } catch (err) {
    if (!(err instanceof RegistryAnswerError)) throw err;
    verdict = {
      outcome: 'invalid_mlflow_answer',
      requested: false,
      reason: `MLflow gave an answer that cannot be used: ${err.message}`,
    };
  }
  const decision: Decision = { ...known, ...verdict };
  return deps.decisions.record(
    decision,
    decision.requested ? (decisionId) => retrainRequestedEvent(decision, decisionId) : undefined,
  );
}

/** A decision's inputs, filled in as they are learnt, so a later failure still records them. */
type Inputs = Omit<Decision, 'outcome' | 'requested' | 'reason'>;
type Verdict = Pick<Decision, 'outcome' | 'requested' | 'reason'> &
  Partial<Pick<Decision, 'newRows' | 'lastRunMasterRows'>>;

async function assess(
  master: MasterVersioned,
  known: Inputs,
  signal: AbortSignal | undefined,
  registry: ModelRegistry,
  policy: RetrainPolicy,
): Promise<Verdict> {
  const production = await loadProductionModel(registry, policy, signal);
  if (!production.ok) return { outcome: production.outcome, requested: false, reason: production.reason };
  const model = production.value;
  Object.assign(known, {
    modelRegistryVersion: model.registryVersion,
    modelSelectedBy: model.selectedBy,
    productionRunId: model.runId,
    featureVersion: model.featureVersion,
    splitVersion: model.splitVersion,
    modelVersion: model.modelVersion,
  } satisfies Partial<Inputs>);

  const versions = {
    [policy.tags.featureVersion]: model.featureVersion,
    [policy.tags.splitVersion]: model.splitVersion,
    [policy.tags.modelVersion]: model.modelVersion,
  };
  const run = await registry.findLastFinishedRun(versions, policy.experimentIds, signal);
  if (!run) {
    const requested = policy.requestWhenNoCompatibleRun;
    const setting =
      policy.source === 'environment'
        ? `RETRAIN_WHEN_NO_COMPATIBLE_RUN is ${requested}`
        : `when_no_compatible_run is ${requested ? 'request' : 'skip'}`;
    const where =
      policy.experimentIds === undefined ? '' : ` in experiment(s) ${policy.experimentIds.join(', ')}`;
    return {
      outcome: 'no_compatible_run',
      requested,
      // Nothing was trained on this configuration yet: every master row is new to it.
      newRows: master.row_count,
      reason:
        `no finished run${where} has ${describeTags(versions)}; ${setting}, ` +
        (requested
          ? `so a retrain is requested whatever the threshold: no run was trained on this configuration, so all ${master.row_count} master rows count as new`
          : 'so no retrain is requested'),
    };
  }
  known.lastCompatibleRunId = run.runId;
  const metric = run.metrics[policy.masterRowsMetric];
  if (metric === undefined) {
    return {
      outcome: 'invalid_compatible_run',
      requested: false,
      reason: `last compatible run ${run.runId} has no ${policy.masterRowsMetric} metric`,
    };
  }
  if (!Number.isSafeInteger(metric) || metric < 0) {
    return {
      outcome: 'invalid_compatible_run',
      requested: false,
      reason: `${policy.masterRowsMetric} of last compatible run ${run.runId} is ${metric}, expected a whole number >= 0`,
    };
  }
  return compareGrowth(master.row_count, metric, policy.thresholdRows, run.runId);
}

/**
 * The threshold rule itself: new_rows = CURRENT_MASTER_ROWS - master_rows of the last compatible
 * run; a retrain is due when new_rows >= RETRAIN_THRESHOLD_ROWS.
 */
export function compareGrowth(
  currentRows: number,
  lastRunRows: number,
  thresholdRows: number,
  runId: string,
): Verdict {
  const newRows = currentRows - lastRunRows;
  const reached = newRows >= thresholdRows;
  const shrunk = newRows < 0 ? ' (the master has fewer rows than that run was trained on)' : '';
  return {
    outcome: reached ? 'threshold_reached' : 'below_threshold',
    requested: reached,
    newRows,
    lastRunMasterRows: lastRunRows,
    reason:
      `new_rows ${newRows} = ${currentRows} master rows - ${lastRunRows} of run ${runId}; ` +
      `${newRows} ${reached ? '>=' : '<'} threshold ${thresholdRows}${shrunk}`,
  };
}

/** Production version: the one holding the alias, else the latest in the fallback stage. */
async function loadProductionModel(
  registry: ModelRegistry,
  policy: RetrainPolicy,
  signal: AbortSignal | undefined,
): Promise<Step<ProductionModel>> {
  const name = policy.modelName;
  const model = await registry.getRegisteredModel(name, signal);
  if (!model) {
    return { ok: false, outcome: 'no_production_model', reason: `registered model "${name}" does not exist` };
  }
  let version: ModelVersion | undefined;
  let selectedBy: string;
  const aliased = model.aliases.find((a) => a.alias === policy.alias);
  if (aliased) {
    selectedBy = `alias ${policy.alias}`;
    version = await registry.getModelVersion(name, aliased.version, signal);
    if (!version) {
      return {
        ok: false,
        outcome: 'invalid_production_model',
        reason: `alias "${policy.alias}" of model "${name}" points to version ${aliased.version}, which does not exist`,
      };
    }
  } else {
    selectedBy = `stage ${policy.stage}`;
    version =
      policy.stage === undefined ? undefined : model.latestVersions.find((v) => v.stage === policy.stage);
    if (!version) {
      const fallback =
        policy.stage === undefined ? 'no stage fallback is configured' : `none is in stage "${policy.stage}"`;
      return {
        ok: false,
        outcome: 'no_production_model',
        reason: `model "${name}" has no version with alias "${policy.alias}" and ${fallback}`,
      };
    }
  }
  const where = `version ${version.version} of model "${name}" (${selectedBy})`;
  if (!version.runId) {
    return {
      ok: false,
      outcome: 'invalid_production_model',
      reason: `${where} was not registered from a run, so its feature, split and model versions are unknown`,
    };
  }
  const run = await registry.getRun(version.runId, signal);
  if (!run) {
    return {
      ok: false,
      outcome: 'invalid_production_model',
      reason: `run ${version.runId} of ${where} does not exist`,
    };
  }
  const tagNames = [policy.tags.featureVersion, policy.tags.splitVersion, policy.tags.modelVersion];
  const missing = tagNames.filter((tag) => !run.tags[tag]?.trim());
  if (missing.length > 0) {
    return {
      ok: false,
      outcome: 'invalid_production_model',
      reason: `run ${run.runId} of ${where} has no value for the tag(s) ${missing.join(', ')}`,
    };
  }
  return {
    ok: true,
    value: {
      registryVersion: version.version,
      selectedBy,
      runId: run.runId,
      featureVersion: run.tags[policy.tags.featureVersion]!,
      splitVersion: run.tags[policy.tags.splitVersion]!,
      modelVersion: run.tags[policy.tags.modelVersion]!,
    },
  };
}

function knownInputs(
  master: MasterVersioned,
  runId: string,
  policy: RetrainPolicy | undefined,
  catalogRevision: number | null,
): Inputs {
  return {
    dataset: master.dataset,
    masterVersion: master.master_version,
    masterEventId: master.event_id,
    runId,
    masterLocation: master.location,
    masterChecksum: master.checksum,
    currentMasterRows: master.row_count,
    thresholdRows: policy?.thresholdRows ?? null,
    modelName: policy?.modelName ?? null,
    policySource: policy?.source ?? null,
    catalogRevision,
    modelRegistryVersion: null,
    modelSelectedBy: null,
    productionRunId: null,
    featureVersion: null,
    splitVersion: null,
    modelVersion: null,
    lastCompatibleRunId: null,
    lastRunMasterRows: null,
    newRows: null,
  };
}

function describeTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** The event training consumes; only built for decisions that passed the production lookup. */
function retrainRequestedEvent(d: Decision, decisionId: string): RetrainRequested {
  const known = <T>(value: T | null, field: string): T => {
    // A programmer's invariant: only decisions that passed the production lookup get here.
    if (value === null) throw new Error(`a requested retrain must know its ${field}`);
    return value;
  };
  return {
    event_id: newEventId(),
    occurred_at: eventTime(),
    run_id: d.runId,
    dataset: d.dataset,
    decision_id: decisionId,
    model_name: known(d.modelName, 'model name'),
    model_registry_version: known(d.modelRegistryVersion, 'model registry version'),
    feature_version: known(d.featureVersion, 'feature version'),
    split_version: known(d.splitVersion, 'split version'),
    model_version: known(d.modelVersion, 'model version'),
    master_version: d.masterVersion,
    master_location: d.masterLocation,
    master_checksum: d.masterChecksum,
    current_master_rows: d.currentMasterRows,
    last_run_master_rows: d.lastRunMasterRows,
    new_rows: d.newRows ?? d.currentMasterRows,
    threshold_rows: known(d.thresholdRows, 'threshold'),
    last_compatible_run_id: d.lastCompatibleRunId,
    reason: d.reason,
  };
}
