import type { QualityEvaluated } from '@tributary/events';
import type { DefinedJob, JobQueue, RetryPolicy } from '@tributary/jobs';
import { publishDataset, type PublishDeps, type PublishResult } from '../../domain/publish-dataset.ts';

/** What a parked publish carries (the run's trace travels with the job). */
export interface PublishRetry {
  evaluated: QualityEvaluated;
  runId: string;
}

/**
 * The publish of a version as a durable job: its first attempt runs in the consumer (`runNow`), a
 * failed attempt is rolled back and parked for the next one after the retry policy's delay, each
 * retry inside the trace of its run (trace id = run id), so its spans, logs and the
 * dataset.published it emits belong to the run like the first attempt's.
 */
export function definePublishRetry(
  queue: JobQueue,
  deps: PublishDeps,
  observe: (result: PublishResult) => void,
  opts: { retry: RetryPolicy; leaseMs: number },
): DefinedJob<PublishRetry> {
  return queue.define<PublishRetry>({
    name: 'publish-retry',
    retry: opts.retry,
    leaseMs: opts.leaseMs,
    span: ({ evaluated, runId }, { attempt }) => ({
      name: attempt === 1 ? 'publish_dataset' : 'publish_dataset retry',
      attributes: { 'tributary.dataset_version': evaluated.dataset_version, 'tributary.run_id': runId },
    }),
    run: async ({ evaluated, runId }, { attempt, retryInMs }) => {
      const result = await publishDataset(evaluated, { runId, attempt, retryInMs }, deps);
      observe(result);
      return result.outcome === 'retrying' ? { retry: result.reason ?? 'publish failed' } : undefined;
    },
  });
}
