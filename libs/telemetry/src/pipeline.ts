import type { Histogram } from 'prom-client';
import type { Metrics } from './metrics.ts';

/**
 * The data flow's DAG: one run per batch, batch.ready → ingest → validate → merge → retrain
 * decision, across the ingestor, preprocessor and retrain-policy. Like dataset_refresh, a run is
 * counted once in `dag_status`, where it ends, and its `dag_duration_seconds` is measured there from
 * the batch.ready's occurred_at (carried as `ready_at`) to the end: `rejected` (ingest or
 * validation), `failed` (dead-lettered), `success` (the master version was decided by the
 * retrain-policy).
 */
export const DATA_PIPELINE_DAG = 'data_pipeline';

/** Buckets of the end-to-end times from a batch.ready (seconds to an hour). */
export const SINCE_READY_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export type DataPipelineStatus = 'success' | 'failed' | 'rejected';

export interface DataPipelineRuns {
  /**
   * Counts a run that ends here and observes its duration since `startedAt` (epoch ms: the
   * batch.ready's occurred_at, else the earliest time the service knows of the run).
   */
  end(status: DataPipelineStatus, startedAt: number): void;
  /** Observes in `histogram` the time since a run's batch.ready, when `readyAt` is known. */
  sinceReady(histogram: Histogram): (readyAt: number | null | undefined) => void;
}

/**
 * The data pipeline's run metrics of one service. The `dag_status` series of `statuses` (the ways a
 * run can end in this service) are exported at 0 from the start: a series first appearing at 1 has
 * no increase(), so an alert would miss the first failure after a start.
 */
export function dataPipelineRuns(
  metrics: Metrics,
  statuses: readonly DataPipelineStatus[],
  now: () => number = Date.now,
): DataPipelineRuns {
  for (const status of statuses) metrics.dagStatus.inc({ dag: DATA_PIPELINE_DAG, status }, 0);
  const since = (readyAt: number | null | undefined) =>
    readyAt === null || readyAt === undefined ? 0 : Math.max(0, now() - readyAt) / 1000;
  return {
    end(status, startedAt) {
      metrics.dagStatus.inc({ dag: DATA_PIPELINE_DAG, status });
      metrics.dagDuration.observe({ dag: DATA_PIPELINE_DAG, status }, since(startedAt));
    },
    sinceReady(histogram) {
      return (readyAt) => {
        if (readyAt !== null && readyAt !== undefined) histogram.observe(since(readyAt));
      };
    },
  };
}
