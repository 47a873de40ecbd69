import { batchIngested, batchRejected, masterVersioned } from '@tributary/events';
import { defineService } from '@tributary/runtime';

/** What the preprocessor consumes and publishes; its topics, outbox relay and handlers follow from it. */
export const manifest = defineService({
  name: 'preprocessor',
  consumes: [batchIngested],
  outbox: [masterVersioned, batchRejected],
});
