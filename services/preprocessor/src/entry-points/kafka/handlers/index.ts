import type { HandlersOf } from '@tributary/runtime';
import { Histogram, SINCE_READY_BUCKETS, dataPipelineRuns, type Metrics } from '@tributary/telemetry';
import type { ProcessBatch } from '../../../domain/process-batch.ts';
import { batchIngestedHandler } from './batch-ingested.handler.ts';
import type { manifest } from '../../../manifest.ts';

/** One handler per event the manifest consumes, in its order; each calls a use case in domain/. */
export function handlers(deps: {
  processBatch: ProcessBatch;
  metrics: Metrics;
}): HandlersOf<typeof manifest> {
  // A data_pipeline run ends here when its batch is rejected (validation, conflict) or dead-lettered.
  const runs = dataPipelineRuns(deps.metrics, ['rejected', 'failed']);
  const readyToVersioned = runs.sinceReady(
    new Histogram({
      name: 'pipeline_ready_to_master_versioned_seconds',
      help: 'Time from a batch.ready (its occurred_at) to the commit of the master version that merged it',
      buckets: SINCE_READY_BUCKETS,
      registers: [deps.metrics.registry],
    }),
  );
  return [batchIngestedHandler(deps.processBatch, runs, readyToVersioned)];
}
