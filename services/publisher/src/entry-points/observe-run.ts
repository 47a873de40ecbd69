import type { Metrics } from '@tributary/telemetry';
import type { PublishResult } from '../domain/publish-dataset.ts';

const DAG = 'dataset_refresh';

/**
 * Exports the dag_status series this service counts at 0 from the start: a series that first
 * appeared at 1 would have no increase() for Prometheus, and TributaryQualityGateFailed would miss
 * the first failed publish after each start.
 */
export function initRunMetrics(metrics: Metrics): void {
  for (const status of ['success', 'failed']) metrics.dagStatus.inc({ dag: DAG, status }, 0);
}

/**
 * Metrics of one handled quality.evaluated. dag_status{dag="dataset_refresh"} counts a run where it
 * ends: here only when it was published ('success') or its publish failed after the retries
 * ('failed'). A failed gate or a run that failed before it ended in the quality-gate, which counted
 * it; a redelivery of a published version is no new run. publish_dataset did not run for those.
 */
export function observeRun(metrics: Metrics, result: PublishResult): void {
  if (result.outcome === 'retrying') return;
  const dag =
    result.outcome === 'publish_failed'
      ? 'failed'
      : result.outcome === 'published' && result.published
        ? 'success'
        : undefined;
  metrics.taskDuration.observe({ task: 'publish_dataset', status: dag ?? 'skipped' }, result.seconds);
  if (dag) metrics.dagStatus.inc({ dag: DAG, status: dag });
}
