import { batchRejected, datasetPublished, qualityEvaluated } from '@tributary/events';
import { defineService } from '@tributary/runtime';

/** What the notifier consumes; its topics and handlers follow from it. */
export const manifest = defineService({
  name: 'notifier',
  consumes: [datasetPublished, qualityEvaluated, batchRejected],
  // And the dlq.<service> topics of DEAD_LETTER_SERVICES.
  consumesDeadLetters: true,
});
