import { intervalPoller, type Worker } from '@tributary/runtime';
import { withSpanInTrace, type Logger } from '@tributary/telemetry';
import type { PgPublishRepository } from '../../data-access/publish-repository.ts';
import { publishDataset, type PublishDeps, type PublishResult } from '../../domain/publish-dataset.ts';

export interface RetryPollerDeps {
  repo: Pick<PgPublishRepository, 'claimDue'>;
  publish: PublishDeps;
  observe: (result: PublishResult) => void;
  intervalMs: number;
  /** How long a claimed retry is held before another tick may take it again (PUBLISH_RETRY_LEASE_MS). */
  leaseMs: number;
  logger: Logger;
}

/**
 * Publishes the parked publishes that are due, each inside the trace of its run (trace id = run
 * id), so its spans, logs and the dataset.published it emits belong to the run like the first
 * attempt's. Rows parked before the traceparent was kept have none: their retry opens a trace.
 */
export function publishRetryPoller(deps: RetryPollerDeps): Worker {
  return intervalPoller({
    name: 'publish-retry-poller',
    intervalMs: deps.intervalMs,
    logger: deps.logger,
    tick: async () => {
      for (const due of await deps.repo.claimDue(10, deps.leaseMs)) {
        const result = await withSpanInTrace(
          due.traceparent,
          'publish_dataset retry',
          {
            'tributary.dataset_version': due.evaluated.dataset_version,
            'tributary.run_id': due.runId,
            'tributary.attempt': due.attempt,
          },
          () =>
            publishDataset(
              due.evaluated,
              { runId: due.runId, attempt: due.attempt, traceparent: due.traceparent },
              deps.publish,
            ),
        );
        deps.observe(result);
      }
    },
  });
}
