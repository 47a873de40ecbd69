export {
  JobQueue,
  jobsSchema,
  type DefinedJob,
  type JobAttempt,
  type JobDefinition,
  type JobOutcome,
  type JobQueueOptions,
  type SendOptions,
  type UnfinishedJob,
} from './queue.ts';
export {
  SEED_RETRY_DELAYS_MS,
  retryDelay,
  retryDelaysSetting,
  retryPolicy,
  type RetryPolicy,
} from './retry-policy.ts';
