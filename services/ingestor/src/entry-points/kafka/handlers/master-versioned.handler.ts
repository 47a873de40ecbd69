import { masterVersioned } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import { recordMerged } from '../../../domain/merge-outcome.ts';
import type { BatchRepository } from '../../../domain/ports.ts';

/** master.versioned → the batches it merged are settled as MERGED. */
export function masterVersionedHandler(batches: BatchRepository) {
  return defineHandler({
    event: masterVersioned,
    task: 'record_merge',
    runFields: (master) => ({ dataset_version: `${master.dataset}@${master.master_version}` }),
    handle: (master, ctx) => recordMerged(batches, master, ctx.log),
  });
}
