import { batchReady } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import type { Counter, DataPipelineRuns } from '@tributary/telemetry';
import { ingestBatch, type IngestDeps } from '../../../domain/ingest-batch.ts';

/**
 * batch.ready → ingest. Rejections are normal returns; only infrastructure failures throw (and are
 * retried). A batch rejected here, or dead-lettered, ends its data_pipeline run here.
 */
export function batchReadyHandler(
  deps: IngestDeps,
  outcomes: Counter<'outcome' | 'error_code'>,
  runs: DataPipelineRuns,
) {
  return defineHandler({
    event: batchReady,
    task: 'ingest',
    // No master version yet: the batch id names what the run works on.
    runFields: (value) => ({ dataset_version: value.batch_id }),
    async handle(value, ctx) {
      const outcome = await ingestBatch(deps, value, { runId: ctx.runId, log: ctx.log });
      outcomes.inc({
        outcome: outcome.kind,
        error_code: outcome.kind === 'rejected' ? outcome.errorCode : '',
      });
      if (outcome.kind === 'rejected') runs.end('rejected', value.occurred_at);
    },
    onDeadLettered: (_err, value) => runs.end('failed', value?.occurred_at ?? Date.now()),
  });
}
