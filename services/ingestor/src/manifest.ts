import { batchIngested, batchReady, batchRejected, masterVersioned } from '@tributary/events';
import { defineService } from '@tributary/runtime';

/** What the ingestor consumes and publishes; its topics, outbox relay and handlers follow from it. */
export const manifest = defineService({
  name: 'ingestor',
  // master.versioned and batch.rejected tell it what became of its batches.
  consumes: [batchReady, masterVersioned, batchRejected],
  // Its own batch.ready announcements (uploads, landing zone), and its outcomes.
  outbox: [batchReady, batchIngested, batchRejected],
});
