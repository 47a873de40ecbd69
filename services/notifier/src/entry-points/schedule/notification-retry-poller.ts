import { intervalPoller, type Worker } from '@tributary/runtime';
import { withLogFields, withSpanInTrace, type Logger } from '@tributary/telemetry';
import type { NotificationsRepository } from '../../data-access/notifications-repository.ts';
import { notificationRunFields, resumeDelivery, type NotifyPorts } from '../../domain/notify.ts';

export interface RetryPollerDeps {
  repo: Pick<NotificationsRepository, 'claimDue'>;
  notify: NotifyPorts;
  intervalMs: number;
  /** How long a claim may stay 'sending' before it is taken for a dead replica's (NOTIFY_SENDING_LEASE_MS). */
  leaseMs: number;
  logger: Logger;
}

/**
 * Sends again the parked notifications whose retry is due, and those whose claim expired (their
 * replica died before marking them); the consumer never waits for them. Each is sent inside the
 * trace of its run (trace id = run id, the `dag_run_id` of its log lines), from the traceparent kept
 * with its claim, with the `task_id` and `dataset_version` of its first attempt. Claims made before
 * the traceparent was kept have none: their retry opens a trace.
 */
export function notificationRetryPoller(deps: RetryPollerDeps): Worker {
  return intervalPoller({
    name: 'notification-retry-poller',
    intervalMs: deps.intervalMs,
    logger: deps.logger,
    failureMessage: 'notification retry poll failed',
    tick: async () => {
      for (const due of await deps.repo.claimDue(10, deps.leaseMs)) {
        const fields = notificationRunFields(due.kind, due.datasetVersion);
        await withLogFields(fields, () =>
          withSpanInTrace(
            due.traceparent,
            `${fields.task_id} retry`,
            {
              'tributary.task_id': fields.task_id,
              'tributary.dataset_version': fields.dataset_version,
              'tributary.channel': due.kind,
              'tributary.attempt': due.attempt,
              'tributary.expired_claim': due.expired,
            },
            () => resumeDelivery(deps.notify, due),
          ),
        );
      }
    },
  });
}
