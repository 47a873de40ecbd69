import { masterVersioned, qualityEvaluated } from '@tributary/events';
import { defineService } from '@tributary/runtime';

/** What the quality-gate consumes and publishes; its topics, outbox relay and handlers follow from it. */
export const manifest = defineService({
  name: 'quality-gate',
  // Always consumed: a job that refreshes on it or reads the master may be declared at any time.
  consumes: [masterVersioned],
  outbox: [qualityEvaluated],
});
