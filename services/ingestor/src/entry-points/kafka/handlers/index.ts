import type { HandlersOf } from '@tributary/runtime';
import { Counter, dataPipelineRuns, type Metrics } from '@tributary/telemetry';
import type { IngestDeps } from '../../../domain/ingest-batch.ts';
import { batchReadyHandler } from './batch-ready.handler.ts';
import { batchRejectedHandler } from './batch-rejected.handler.ts';
import { masterVersionedHandler } from './master-versioned.handler.ts';
import type { manifest } from '../../../manifest.ts';

/** One handler per event the manifest consumes, in its order; each calls a use case in domain/. */
export function handlers(deps: IngestDeps, metrics: Metrics): HandlersOf<typeof manifest> {
  const outcomes = new Counter({
    name: 'ingestor_batches_total',
    help: 'Batches the ingest decided, by outcome (ingested, duplicate, rejected, superseded) and error code',
    labelNames: ['outcome', 'error_code'],
    registers: [metrics.registry],
  });
  // A data_pipeline run ends here when its batch is rejected at ingest or dead-lettered.
  const runs = dataPipelineRuns(metrics, ['rejected', 'failed']);
  return [
    batchReadyHandler(deps, outcomes, runs),
    masterVersionedHandler(deps.batches),
    batchRejectedHandler(deps.batches),
  ];
}
