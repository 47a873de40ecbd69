import type { DefinedJob, JobQueue, RetryPolicy } from '@tributary/jobs';
import { withLogFields } from '@tributary/telemetry';
import { notificationRunFields, sendNotification } from '../../domain/delivery.ts';
import type { Channel, NotifyPorts } from '../../domain/ports.ts';

export const NOTIFICATION_JOB = 'notification';

/** What the delivery of a claimed notification carries (the run's trace travels with the job). */
export interface NotificationJob {
  kind: Channel;
  /** The notification's key: a dataset version, or what a dead letter or rejected batch is. */
  key: string;
  payload: unknown;
}

/**
 * The delivery of a claimed notification as a durable job: the consumer never waits for a channel.
 * Each attempt runs inside the trace of its run (trace id = run id, the `dag_run_id` of its log
 * lines), with the `task_id` and `dataset_version` of the notification; a failed one is retried
 * after the retry policy's delays, and one whose replica died is taken again after the lease.
 */
export function defineNotificationJob(
  queue: JobQueue,
  ports: NotifyPorts,
  opts: { retry: RetryPolicy; leaseMs: number },
): DefinedJob<NotificationJob> {
  return queue.define<NotificationJob>({
    name: NOTIFICATION_JOB,
    retry: opts.retry,
    leaseMs: opts.leaseMs,
    span: ({ kind, key }, { attempt, expired }) => {
      const fields = notificationRunFields(kind, key);
      return {
        name: attempt === 1 ? `${fields.task_id} ${kind}` : `${fields.task_id} retry`,
        attributes: {
          'tributary.task_id': fields.task_id,
          'tributary.dataset_version': fields.dataset_version,
          'tributary.channel': kind,
          'tributary.expired_claim': expired,
        },
      };
    },
    run: ({ kind, key, payload }, attempt) =>
      withLogFields(notificationRunFields(kind, key), async () => {
        const outcome = await sendNotification(ports, { kind, datasetVersion: key, payload, ...attempt });
        return outcome === 'retrying' ? { retry: `${kind} delivery failed` } : undefined;
      }),
  });
}
