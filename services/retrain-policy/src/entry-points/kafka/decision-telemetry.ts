import { trace } from '@opentelemetry/api';
import type { Runtime } from '@tributary/runtime';
import { Counter } from '@tributary/telemetry';
import type { DecideRetrainResult } from '../../domain/decide-retrain.ts';
import type { StoredDecision } from '../../domain/ports.ts';

const DAG = 'retrain_policy';

/**
 * Makes each decision visible: attributes on the run's trace span, the decision counter, the
 * seed's DAG metrics, and one log line. Redeliveries only count as such.
 */
export function decisionTelemetry(runtime: Runtime): (result: DecideRetrainResult, seconds: number) => void {
  const registers = [runtime.metrics.registry];
  const decisions = new Counter({
    name: 'retrain_decisions_total',
    help: 'Retrain decisions by outcome and whether a retrain was requested',
    labelNames: ['outcome', 'requested'],
    registers,
  });
  const redeliveries = new Counter({
    name: 'retrain_redeliveries_total',
    help: 'master.versioned events whose master version had already been decided (nothing done)',
    registers,
  });
  return ({ decision, created }, seconds) => {
    trace.getActiveSpan()?.setAttributes({ ...spanAttributes(decision), 'retrain.redelivery': !created });
    if (!created) {
      redeliveries.inc();
      runtime.logger.info(
        { dataset: decision.dataset, master_version: decision.masterVersion, decision_id: decision.id },
        'master version already decided; nothing to do',
      );
      return;
    }
    decisions.inc({ outcome: decision.outcome, requested: String(decision.requested) });
    const status = dagStatus(decision);
    runtime.metrics.dagStatus.inc({ dag: DAG, status });
    runtime.metrics.dagDuration.observe({ dag: DAG, status }, seconds);
    runtime.logger.info(
      {
        dataset: decision.dataset,
        master_version: decision.masterVersion,
        decision_id: decision.id,
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
  return d.outcome === 'below_threshold' || d.outcome === 'no_compatible_run' || d.outcome === 'superseded'
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
