import { intervalPoller, type Worker } from '@tributary/runtime';
import { withSpanInTrace, type Logger } from '@tributary/telemetry';
import type { DueRun } from '../../domain/ports.ts';
import { DAG, type RecoverStale, type RunRefresh } from '../refresh-runner.ts';

/**
 * Runs again the refresh runs whose retry is due. Claiming is a Postgres UPDATE … SKIP LOCKED, so
 * with several replicas each due run is retried by one of them; nothing sleeps in a handler.
 * Each tick first recovers the runs stuck in `running` (`recoverStale`): those parked for a retry
 * are due after their delay like any other.
 */
export function retryPoller(opts: {
  claimDue: (limit: number) => Promise<DueRun[]>;
  recoverStale?: RecoverStale;
  run: RunRefresh;
  intervalMs: number;
  logger: Logger;
}): Worker {
  return intervalPoller({
    name: 'refresh-retry-poller',
    intervalMs: opts.intervalMs,
    logger: opts.logger,
    failureMessage: 'retry poll failed',
    async tick() {
      await opts
        .recoverStale?.()
        .catch((err: unknown) => opts.logger.warn({ err }, 'stale-run check failed'));
      for (const due of await opts.claimDue(10)) {
        // The retry goes on in the run's trace (its run id), not in a new one per poll.
        const attributes = {
          dag: DAG,
          job: due.job,
          dataset_version: due.datasetVersion,
          attempt: due.attempt,
        };
        await withSpanInTrace(due.traceparent, `${DAG} retry`, attributes, async () => {
          const result = await opts.run({
            job: due.job,
            trigger: due.trigger,
            // The retry keeps the run id of the run's first attempt.
            ...(due.runId === null ? {} : { runId: due.runId }),
            ...(due.scheduledFor === null ? {} : { scheduledFor: due.scheduledFor }),
            ...(due.masterVersion === null ? {} : { masterVersion: due.masterVersion }),
            // The retry reads the settings its run stored at its start.
            resume: { datasetVersion: due.datasetVersion, attempt: due.attempt, stored: due },
          });
          opts.logger.info(
            {
              job: due.job,
              dataset_version: due.datasetVersion,
              attempt: due.attempt,
              status: result.status,
            },
            'retry done',
          );
        });
      }
    },
  });
}
