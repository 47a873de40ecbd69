import { qualityEvaluated } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import { currentTraceparent } from '@tributary/telemetry';
import { publishDataset, type PublishDeps, type PublishResult } from '../../../domain/publish-dataset.ts';

/** Publishes a candidate that passed the gate, and archives the run whatever its outcome. */
export function qualityEvaluatedHandler(deps: PublishDeps, observe: (result: PublishResult) => void) {
  return defineHandler({
    event: qualityEvaluated,
    async handle(evaluated, ctx) {
      // The consumer's span continues the run's trace: a parked publish keeps it for its retry.
      const traceparent = currentTraceparent() ?? null;
      observe(await publishDataset(evaluated, { runId: ctx.runId, traceparent }, deps));
    },
  });
}
