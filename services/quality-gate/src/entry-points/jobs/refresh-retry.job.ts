import type { DefinedJob, JobQueue } from '@tributary/jobs';
import { retryPolicy } from '@tributary/jobs';
import type { Logger } from '@tributary/telemetry';
import type { DueRun } from '../../domain/ports.ts';
import type { ParkedRun } from '../../data-access/runs-repository.ts';
import { DAG, type RunRefresh } from '../refresh-runner.ts';

export const REFRESH_RETRY_JOB = 'refresh-retry';

/** The retry of a parked run: which run, and which attempt it is. */
export interface RefreshRetry {
  datasetVersion: string;
  attempt: number;
}

/**
 * The retry of a parked refresh run as a durable job, sent in the transaction that parks the run
 * (RunsRepository's parkRetry): due after the delay of the run's job's `retry_delays`, it takes the
 * run back (`claimRetry`: once, whatever the replicas and duplicate jobs) and runs it again in the
 * run's trace, under its run id and with the settings it stored at its start. The delays are the
 * refresh job's declaration (retry_delays), so the domain decides them and parks the next attempt
 * itself: the job queue adds no retries of its own.
 */
export function defineRefreshRetry(
  queue: JobQueue,
  deps: {
    claimRetry: (datasetVersion: string, attempt: number) => Promise<DueRun | undefined>;
    run: RunRefresh;
    logger: Logger;
    /** Longer than a run: a retry held past it is taken again (and finds its run taken). */
    leaseMs: number;
  },
): DefinedJob<RefreshRetry> {
  return queue.define<RefreshRetry>({
    name: REFRESH_RETRY_JOB,
    retry: retryPolicy([]),
    leaseMs: deps.leaseMs,
    span: ({ datasetVersion, attempt }) => ({
      name: `${DAG} retry`,
      attributes: { dag: DAG, dataset_version: datasetVersion, attempt },
    }),
    run: async ({ datasetVersion, attempt }) => {
      const due = await deps.claimRetry(datasetVersion, attempt);
      if (!due) {
        deps.logger.info(
          { dataset_version: datasetVersion, attempt },
          'retry no longer due: the run moved on',
        );
        return undefined;
      }
      const result = await deps.run({
        job: due.job,
        trigger: due.trigger,
        // The retry keeps the run id of the run's first attempt.
        ...(due.runId === null ? {} : { runId: due.runId }),
        ...(due.scheduledFor === null ? {} : { scheduledFor: due.scheduledFor }),
        ...(due.masterVersion === null ? {} : { masterVersion: due.masterVersion }),
        // The retry reads the settings its run stored at its start.
        resume: { datasetVersion: due.datasetVersion, attempt: due.attempt, stored: due },
      });
      deps.logger.info(
        { job: due.job, dataset_version: due.datasetVersion, attempt: due.attempt, status: result.status },
        'retry done',
      );
      return undefined;
    },
  });
}

/** The job of a parked run, as RunsRepository's parkRetry sends it. */
export function parkedRunJob(run: ParkedRun): {
  data: RefreshRetry;
  startAfter: Date;
  traceparent: string | null;
} {
  return {
    data: { datasetVersion: run.datasetVersion, attempt: run.attempt },
    startAfter: run.dueAt,
    traceparent: run.traceparent,
  };
}
