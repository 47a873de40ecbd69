import { batchIngested } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import type { ProcessBatch } from '../../../domain/process-batch.ts';

/** batch.ingested → validate, then merge into the master (or reject), exactly once. */
export function batchIngestedHandler(useCase: ProcessBatch) {
  return defineHandler({
    event: batchIngested,
    async handle(event, ctx) {
      const outcome = await useCase.execute(event, { runId: ctx.runId, signal: ctx.signal });
      ctx.log.info({ dataset: event.dataset, batch_id: event.batch_id, ...outcome }, 'batch processed');
    },
  });
}
