import { batchRejected } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import { recordRejected } from '../../../domain/merge-outcome.ts';
import type { BatchRepository } from '../../../domain/ports.ts';

/** batch.rejected (by the preprocessor, whole batch) → the batch is settled as REJECTED. */
export function batchRejectedHandler(batches: BatchRepository) {
  return defineHandler({
    event: batchRejected,
    task: 'record_rejection',
    runFields: (rejected) => ({ dataset_version: rejected.batch_id }),
    handle: (rejected, ctx) => recordRejected(batches, rejected, ctx.log),
  });
}
