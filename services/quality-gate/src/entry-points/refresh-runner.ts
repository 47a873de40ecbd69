import { randomBytes } from 'node:crypto';
import type { RefreshTrigger } from '@tributary/events';
import {
  currentRunId,
  currentTraceparent,
  withSpan,
  withSpanInTrace,
  type Logger,
  type Metrics,
} from '@tributary/telemetry';
import type { RunStore } from '../domain/ports.ts';
import { recoverStaleRuns, type StaleRecovery } from '../domain/recover-stale-runs.ts';
import {
  refreshDataset,
  type RefreshDeps,
  type RefreshResult,
  type RefreshSettings,
} from '../domain/refresh-dataset.ts';

export const DAG = 'dataset_refresh';

/** Starts refresh runs from any trigger (schedule, admin API, master.versioned) and records the DAG metrics. */
export type RunRefresh = (request: {
  trigger: RefreshTrigger;
  runId?: string;
  scheduledFor?: string;
  masterVersion?: number;
  resume?: { datasetVersion: string; attempt: number };
}) => Promise<RefreshResult>;

export function refreshRunner(deps: RefreshDeps, metrics: Metrics): RunRefresh {
  return (request) =>
    withSpan(`${DAG} ${request.trigger.toLowerCase()}`, { dag: DAG, trigger: request.trigger }, async () => {
      // Schedule and admin triggers start a run, so the run id is this span's trace (or a fresh id without tracing).
      const runId = request.runId ?? currentRunId() ?? randomBytes(16).toString('hex');
      // Stored with a new run: its retries and its stale recovery continue this span's trace.
      const traceparent = currentTraceparent();
      const result = await refreshDataset(
        { ...request, runId, ...(traceparent === undefined ? {} : { traceparent }) },
        deps,
      );
      if (result.status === 'passed' || result.status === 'failed') {
        const status = result.status === 'passed' ? 'success' : 'failed';
        metrics.dagDuration.observe({ dag: DAG, status }, result.seconds);
        // A passed run ends in the publisher, which counts it; only a run that ends here is counted here.
        if (result.status === 'failed') metrics.dagStatus.inc({ dag: DAG, status });
      }
      return result;
    });
}

/** Recovers the runs stuck in `running` (see recoverStaleRuns) and records the DAG metrics of those it ends. */
export type RecoverStale = () => Promise<StaleRecovery[]>;

export function staleRunRecoverer(
  deps: {
    runs: Pick<RunStore, 'recoverStale'>;
    settings: Pick<RefreshSettings, 'dataset' | 'baselineName' | 'retryDelaysMs'>;
    logger: Logger;
  },
  metrics: Metrics,
  staleAfterMs: number,
): RecoverStale {
  return async () => {
    const fallbackRunId = currentRunId() ?? randomBytes(16).toString('hex');
    const recovered = await recoverStaleRuns(deps, staleAfterMs, fallbackRunId);
    for (const r of recovered) {
      const attributes = { dag: DAG, dataset_version: r.datasetVersion, status: r.status };
      await withSpanInTrace(r.traceparent, `${DAG} stale_recovery`, attributes, () => {
        deps.logger.warn(
          { dataset_version: r.datasetVersion, task_id: r.failedTask, status: r.status, reason: r.reason },
          'stale dataset refresh run recovered',
        );
        return Promise.resolve();
      });
      if (r.status === 'failed') {
        metrics.dagDuration.observe({ dag: DAG, status: 'failed' }, r.seconds);
        metrics.dagStatus.inc({ dag: DAG, status: 'failed' });
      }
    }
    return recovered;
  };
}
