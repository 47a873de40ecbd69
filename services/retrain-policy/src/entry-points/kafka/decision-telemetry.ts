import { trace } from '@opentelemetry/api';
import type { Runtime } from '@tributary/runtime';
import { Counter } from '@tributary/telemetry';
import type { DecideRetrainResult } from '../../domain/decide-retrain.ts';
import { NOT_DECLARED_OUTCOMES, type NotDeclaredOutcome, type StoredDecision } from '../../domain/ports.ts';

const DAG = 'retrain_policy';

const isNotDeclared = (outcome: string): outcome is NotDeclaredOutcome =>
  (NOT_DECLARED_OUTCOMES as readonly string[]).includes(outcome);

/**
 * Makes each decision visible: attributes on its trace span, the decision counter, the seed's DAG
 * metrics, and one log line. A master version decided for no model (undeclared dataset, no retrain
 * policy) is counted in tributary_retrain_undeclared_total and logged at info, saying why. A
 * dataset decided by the implicit env policy is warned about once per process, naming the file to
 * write. Redeliveries only count as such.
 */
export function decisionTelemetry(runtime: Runtime): (result: DecideRetrainResult, seconds: number) => void {
  const registers = [runtime.metrics.registry];
  const decisions = new Counter({
    name: 'retrain_decisions_total',
    help: 'Retrain decisions (one per master version and model) by outcome and whether a retrain was requested',
    labelNames: ['outcome', 'requested'],
    registers,
  });
  const redeliveries = new Counter({
    name: 'retrain_redeliveries_total',
    help: 'Decisions found already made when a master.versioned came again (nothing done)',
    registers,
  });
  const undeclared = new Counter({
    name: 'tributary_retrain_undeclared_total',
    help:
      'Master versions that request no retraining because their dataset is not declared ' +
      '(reason="undeclared_dataset") or declares no retrain policy (reason="no_retrain_policy")',
    labelNames: ['reason'],
    registers,
  });
  for (const reason of NOT_DECLARED_OUTCOMES) undeclared.inc({ reason }, 0);
  const warnedImplicit = new Set<string>();

  return ({ decision, created }, seconds) => {
    trace.getActiveSpan()?.setAttributes({ ...spanAttributes(decision), 'retrain.redelivery': !created });
    const where = {
      dataset: decision.dataset,
      master_version: decision.masterVersion,
      model_name: decision.modelName,
      decision_id: decision.id,
    };
    if (!created) {
      redeliveries.inc();
      runtime.logger.info(where, 'master version already decided for this model; nothing to do');
      return;
    }
    decisions.inc({ outcome: decision.outcome, requested: String(decision.requested) });
    const status = dagStatus(decision);
    runtime.metrics.dagStatus.inc({ dag: DAG, status });
    runtime.metrics.dagDuration.observe({ dag: DAG, status }, seconds);
    if (isNotDeclared(decision.outcome)) {
      undeclared.inc({ reason: decision.outcome });
      runtime.logger.info(
        {
          ...where,
          reason: decision.outcome,
          why: decision.reason,
          catalog_revision: decision.catalogRevision,
        },
        `master version requests no retraining: ${decision.reason}`,
      );
      return;
    }
    if (decision.policySource === 'environment' && !warnedImplicit.has(decision.dataset)) {
      warnedImplicit.add(decision.dataset);
      runtime.logger.warn(
        { dataset: decision.dataset, model_name: decision.modelName, docs: 'docs/onboarding.md' },
        `dataset ${decision.dataset} is not declared: it was decided by the implicit MLFLOW_MODEL_NAME ` +
          `policy; declare it in datasets/${decision.dataset}.yaml with a retrain_policies: entry ` +
          `(docs/onboarding.md)`,
      );
    }
    runtime.logger.info(
      {
        ...where,
        policy_source: decision.policySource,
        outcome: decision.outcome,
        requested: decision.requested,
        reason: decision.reason,
      },
      decision.requested ? 'retrain requested' : 'no retrain',
    );
  };
}

function dagStatus(d: StoredDecision): 'success' | 'skipped' | 'failed' {
  if (d.requested) return 'success';
  return d.outcome === 'below_threshold' ||
    d.outcome === 'no_compatible_run' ||
    d.outcome === 'superseded' ||
    isNotDeclared(d.outcome)
    ? 'skipped'
    : 'failed';
}

/** The decision's inputs and outcome as span attributes (unknown values left out). */
export function spanAttributes(d: StoredDecision): Record<string, string | number | boolean> {
  const attributes: Record<string, string | number | boolean | null> = {
    'tributary.dataset': d.dataset,
    'tributary.master_version': d.masterVersion,
    'retrain.decision_id': d.id,
    'retrain.outcome': d.outcome,
    'retrain.requested': d.requested,
    'retrain.reason': d.reason,
    'retrain.policy_source': d.policySource,
    'retrain.catalog_revision': d.catalogRevision,
    'retrain.current_master_rows': d.currentMasterRows,
    'retrain.threshold_rows': d.thresholdRows,
    'retrain.new_rows': d.newRows,
    'retrain.last_run_master_rows': d.lastRunMasterRows,
    'retrain.last_compatible_run_id': d.lastCompatibleRunId,
    'retrain.model_name': d.modelName,
    'retrain.model_registry_version': d.modelRegistryVersion,
    'retrain.model_selected_by': d.modelSelectedBy,
    'retrain.production_run_id': d.productionRunId,
    'retrain.feature_version': d.featureVersion,
    'retrain.split_version': d.splitVersion,
    'retrain.model_version': d.modelVersion,
    'retrain.event_id': d.retrainEventId,
  };
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== null)) as Record<
    string,
    string | number | boolean
  >;
}
