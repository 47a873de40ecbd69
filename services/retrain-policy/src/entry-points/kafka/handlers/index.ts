import type { EventHandler } from '@tributary/kafka';
import { Histogram, SINCE_READY_BUCKETS, dataPipelineRuns, type Metrics } from '@tributary/telemetry';
import type { DecideRetrainDeps, DecideRetrainResult } from '../../../domain/decide-retrain.ts';
import { masterVersionedHandler } from './master-versioned.handler.ts';

/** One handler per consumed event; each calls a use case in domain/. */
export function handlers(
  deps: DecideRetrainDeps,
  observe: (result: DecideRetrainResult, seconds: number) => void,
  metrics: Metrics,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers of different events share one list
): EventHandler<any>[] {
  // The data_pipeline run of a master version ends here: decided (success) or dead-lettered (failed).
  const runs = dataPipelineRuns(metrics, ['success', 'failed']);
  const readyToRequested = runs.sinceReady(
    new Histogram({
      name: 'pipeline_ready_to_retrain_requested_seconds',
      help: 'Time from a batch.ready (its occurred_at) to each retrain.requested of the master version that merged it',
      buckets: SINCE_READY_BUCKETS,
      registers: [metrics.registry],
    }),
  );
  return [masterVersionedHandler(deps, observe, runs, readyToRequested)];
}
