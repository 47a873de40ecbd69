import type { HandlersOf } from '@tributary/runtime';
import { Histogram, SINCE_READY_BUCKETS, dataPipelineRuns, type Metrics } from '@tributary/telemetry';
import type { DecideRetrainDeps, DecideRetrainResult } from '../../../domain/decide-retrain.ts';
import { masterVersionedHandler } from './master-versioned.handler.ts';
import type { manifest } from '../../../manifest.ts';

/** One handler per event the manifest consumes, in its order; each calls a use case in domain/. */
export function handlers(
  deps: DecideRetrainDeps,
  observe: (result: DecideRetrainResult, seconds: number) => void,
  metrics: Metrics,
): HandlersOf<typeof manifest> {
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
