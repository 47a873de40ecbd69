import { masterVersioned, retrainRequested } from '@tributary/events';
import { defineService } from '@tributary/runtime';

/** What the retrain-policy consumes and publishes; its topics, outbox relay and handlers follow from it. */
export const manifest = defineService({
  name: 'retrain-policy',
  consumes: [masterVersioned],
  outbox: [retrainRequested],
});
