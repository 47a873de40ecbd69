import { batchIngested } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import type { DataPipelineRuns } from '@tributary/telemetry';
import type { ProcessBatch } from '../../../domain/process-batch.ts';

/**
 * batch.ingested → validate, then merge into the master (or reject), exactly once. A batch rejected
 * here (contract, conflict) or dead-lettered ends its data_pipeline run here; a committed version
 * records the time since the batch.ready.
 */
export function batchIngestedHandler(
  useCase: ProcessBatch,
  runs: DataPipelineRuns,
  readyToVersioned: (readyAt: number | null) => void,
) {
  return defineHandler({
    event: batchIngested,
    task: 'validate',
    // The batch id until the merge commits a version (then `<dataset>@<version>`).
    runFields: (event) => ({ dataset_version: event.batch_id }),
    async handle(event, ctx) {
      const outcome = await useCase.execute(event, { runId: ctx.runId, signal: ctx.signal });
      if (outcome.kind === 'merged') readyToVersioned(event.ready_at);
      if (outcome.kind === 'rejected' || outcome.kind === 'conflict') {
        runs.end('rejected', event.ready_at ?? event.occurred_at);
      }
      ctx.log.info({ dataset: event.dataset, batch_id: event.batch_id, ...outcome }, 'batch processed');
      if (outcome.kind === 'merged' && outcome.unreferenced_files.length > 0) {
        ctx.log.warn(
          { dataset: event.dataset, batch_id: event.batch_id, files: outcome.unreferenced_files },
          'files no row links to: kept in the raw batch, not merged',
        );
      }
    },
    onDeadLettered: (_err, event) => runs.end('failed', event?.ready_at ?? event?.occurred_at ?? Date.now()),
  });
}
