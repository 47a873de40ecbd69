import { qualityEvaluated } from '@tributary/events';
import type { DefinedJob } from '@tributary/jobs';
import { defineHandler } from '@tributary/kafka';
import type { PublishRetry } from '../../jobs/publish-retry.job.ts';

/** Publishes a candidate that passed the gate, and archives the run whatever its outcome. */
export function qualityEvaluatedHandler(publish: DefinedJob<PublishRetry>) {
  return defineHandler({
    event: qualityEvaluated,
    async handle(evaluated, ctx) {
      // The first attempt, in the consumer's span (the run's trace): a failure is parked as a job.
      await publish.runNow({ evaluated, runId: ctx.runId });
    },
  });
}
