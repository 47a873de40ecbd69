import { datasetPublished, qualityEvaluated } from '@tributary/events';
import { defineService } from '@tributary/runtime';

/** What the publisher consumes and publishes; its topics, outbox relay and handlers follow from it. */
export const manifest = defineService({
  name: 'publisher',
  consumes: [qualityEvaluated],
  outbox: [datasetPublished],
});
