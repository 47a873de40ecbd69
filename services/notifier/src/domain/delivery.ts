import { AppError } from '@tributary/errors';
import type { RunFields } from '@tributary/telemetry';
import type {
  Channel,
  DeliveryOutcome,
  Email,
  NotifyPorts,
  PagerDutyTrigger,
  Routes,
  SlackDelivery,
  SlackMessage,
} from './ports.ts';

/** Sends one payload on its channel. */
export function deliver(ports: NotifyPorts, kind: Channel, payload: unknown): Promise<void> {
  if (kind === 'slack') {
    const p = payload as SlackDelivery | SlackMessage;
    if ('webhook' in p) return ports.slack(p.webhook, p.message);
    // Claimed before the route was kept with the payload: the deployment's evaluation channel.
    if (ports.defaults.slackWebhook === undefined) {
      return Promise.reject(
        new AppError('NOT_ERR_NO_CHANNEL', 'no Slack webhook is kept with the payload nor configured'),
      );
    }
    return ports.slack(ports.defaults.slackWebhook, p);
  }
  if (kind === 'ops-slack') return ports.opsSlack(payload as SlackMessage);
  if (kind === 'producers-slack') {
    if (!ports.producersSlack)
      return Promise.reject(new AppError('NOT_ERR_NO_CHANNEL', 'no producers channel is configured'));
    return ports.producersSlack(payload as SlackMessage);
  }
  if (kind === 'email') return ports.email(payload as Email);
  return ports.page(payload as PagerDutyTrigger);
}

/**
 * Sends attempt `attempt` of a claimed notification; on failure records it as retrying when the
 * retry policy gives it a retry (`retryInMs`: the job runs the next attempt after it), else as
 * failed. Never throws for a delivery failure.
 */
export async function attemptDelivery(
  ports: NotifyPorts,
  kind: Channel,
  version: string,
  payload: unknown,
  attempt: number,
  retryInMs: number | undefined,
): Promise<DeliveryOutcome> {
  try {
    await deliver(ports, kind, payload);
    await ports.markSent(kind, version, attempt);
    ports.recordDelivery(kind, 'sent');
    if (attempt > 1) ports.logger.info({ kind, attempt }, 'notification sent after a retry');
    return 'sent';
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (retryInMs !== undefined) {
      await ports.markRetrying(kind, version, attempt + 1, message);
      ports.recordDelivery(kind, 'retrying');
      ports.logger.warn(
        { kind, attempt, retry_in_ms: retryInMs, error: message },
        'notification will be retried',
      );
      return 'retrying';
    }
    await ports.markFailed(kind, version, attempt, `${kind} failed after ${attempt} attempts: ${message}`);
    ports.recordDelivery(kind, 'failed');
    ports.logger.error({ kind, attempt, error: message }, 'notification failed');
    return 'failed';
  }
}

/**
 * One attempt of a claimed notification, as the job worker runs it: the first, a retry, or one
 * `expired`, taken over from a replica that died between taking it and recording its outcome.
 */
export interface NotificationAttempt {
  kind: Channel;
  datasetVersion: string;
  payload: unknown;
  attempt: number;
  expired: boolean;
  /** The retry policy's delay before the next attempt; undefined for the last one. */
  retryInMs: number | undefined;
}

/**
 * The task that sends each kind of notification: a retry logs under the task of its first attempt.
 */
const TASK_OF: Record<Channel, string> = {
  slack: 'notify_stakeholders',
  email: 'notify_stakeholders',
  pagerduty: 'notify_stakeholders',
  'ops-slack': 'notify_dead_letter',
  'producers-slack': 'notify_rejected_batch',
};

/**
 * The run fields of a notification's log lines, the same for its retries as for its first
 * attempt: its task, and the dataset version it is about (the key of the evaluation leads' and
 * on-call's notifications; dead letters and rejected batches are about no dataset version).
 */
export function notificationRunFields(kind: Channel, key: string): RunFields {
  const task = TASK_OF[kind];
  return task === 'notify_stakeholders' ? { task_id: task, dataset_version: key } : { task_id: task };
}

/**
 * Sends a claimed notification. An expired attempt makes delivery at-least-once: its replica may
 * have delivered before dying. PagerDuty drops the duplicate (same dedup_key); a second Slack
 * message or email is preferred over a lost one.
 */
export async function sendNotification(ports: NotifyPorts, a: NotificationAttempt): Promise<DeliveryOutcome> {
  if (a.expired) {
    ports.logger.warn({ kind: a.kind, attempt: a.attempt }, 'notification claim expired, sending it again');
  }
  return attemptDelivery(ports, a.kind, a.datasetVersion, a.payload, a.attempt, a.retryInMs);
}

/** Claims a notification once; its delivery is the job's (see NotifyPorts.claim). */
export function claimOnce(
  ports: NotifyPorts,
  kind: Channel,
  version: string,
  payload: unknown,
): Promise<boolean> {
  // Called within the task's span: the job keeps its trace, so every attempt logs the run's id.
  return ports.claim(kind, version, payload);
}

/**
 * The routes of evaluation set `evaluationSet`, resolved when its notifications are claimed: the
 * payload claimed keeps them (webhook, recipients, routing key and priority), so a retry or the
 * recovery of a dead replica's claim sends where the first attempt did, whatever the catalog says
 * by then.
 */
export async function resolveRoutes(ports: NotifyPorts, evaluationSet: string): Promise<Routes> {
  const declared = await ports.declaredRoutes(evaluationSet);
  if (!declared) {
    ports.logger.warn(
      { evaluation_set: evaluationSet },
      'evaluation set not declared in the catalog: its notifications go to the deployment defaults',
    );
  }
  return {
    dataset: declared?.dataset,
    slackWebhook: declared?.slackWebhook ?? ports.defaults.slackWebhook,
    email: declared?.email ?? ports.defaults.email,
    pagerDuty: declared?.pagerDuty ?? { routingKey: ports.defaults.pagerDutyRoutingKey, priority: 'P2' },
  };
}

/** The Slack message of a dataset version to its route, once; nothing when no webhook is known. */
export function slackOnce(
  ports: NotifyPorts,
  routes: Routes,
  version: string,
  message: SlackMessage,
): Promise<boolean> {
  if (routes.slackWebhook === undefined) return unrouted(ports, 'slack', routes);
  return claimOnce(ports, 'slack', version, {
    webhook: routes.slackWebhook,
    message,
  } satisfies SlackDelivery);
}

/** The email of a dataset version to its recipients, once; nothing when no list is known. */
export function emailOnce(
  ports: NotifyPorts,
  routes: Routes,
  version: string,
  email: Omit<Email, 'to'>,
): Promise<boolean> {
  if (routes.email === undefined) return unrouted(ports, 'email', routes);
  return claimOnce(ports, 'email', version, { to: routes.email, ...email } satisfies Email);
}

function unrouted(ports: NotifyPorts, kind: Channel, routes: Routes): Promise<boolean> {
  ports.logger.warn(
    { kind, declared_by: routes.dataset ?? null },
    `no ${kind} route: neither the dataset declaration nor the deployment names one, nothing sent`,
  );
  return Promise.resolve(false);
}
