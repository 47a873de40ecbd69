import { AppError } from '@tributary/errors';
import { deadLetterTopic } from '@tributary/events';
import { JobQueue, retryPolicy } from '@tributary/jobs';
import { assembleService, createRuntime, jobWorker, type ServiceApp } from '@tributary/runtime';
import { Counter } from '@tributary/telemetry';
import { s3StoreOptions, type ObjectStoreOptions } from '@tributary/storage';
import type { Config } from './config.ts';
import { manifest } from './manifest.ts';
import {
  coverageRenderer,
  emailChannel,
  pagerDutyChannel,
  reportReader,
  slackChannel,
} from './data-access/channels.ts';
import { NotificationsRepository } from './data-access/notifications-repository.ts';
import { CHANNELS, DELIVERY_OUTCOMES, type DeclaredRoutes, type NotifyPorts } from './domain/ports.ts';
import { registerRoutes } from './entry-points/http/routes.ts';
import { handlers } from './entry-points/kafka/handlers/index.ts';
import { defineNotificationJob } from './entry-points/jobs/notification.job.ts';

/**
 * Wires the notifier without starting or listening: main.ts and the tests start it (tests may read
 * its log lines through `logDestination`).
 */
export async function buildApp(
  config: Config,
  opts: { logDestination?: NodeJS.WritableStream } = {},
): Promise<ServiceApp> {
  const runtime = await createRuntime(config, {
    migrations: [new URL('../migrations/', import.meta.url)],
    // The watched dead-letter topics too: the notifier may start before the services that write them.
    topics: [...manifest.topics, ...config.DEAD_LETTER_SERVICES.map(deadLetterTopic)],
    ...opts,
  });
  try {
    const s3: ObjectStoreOptions = s3StoreOptions(config);
    const notifications = new NotificationsRepository(runtime.pool);
    const email = emailChannel({
      host: config.SMTP_HOST,
      port: config.SMTP_PORT,
      secure: config.SMTP_SECURE,
      user: config.SMTP_USER,
      password: config.SMTP_PASSWORD,
      from: config.EMAIL_FROM,
    });
    runtime.onClose(() => Promise.resolve(email.close()));
    const deliveries = new Counter({
      name: 'notifications_total',
      help: 'Delivery attempts by channel (slack, ops-slack, producers-slack, email, pagerduty) and outcome (sent, retrying, failed)',
      labelNames: ['channel', 'outcome'],
      registers: [runtime.metrics.registry],
    });
    // Every series exported at 0 from the start: one that first appeared at 1 would have no
    // increase() for Prometheus, and TributaryNotificationsFailing would miss the first failure.
    for (const channel of CHANNELS) {
      for (const outcome of DELIVERY_OUTCOMES) deliveries.inc({ channel, outcome }, 0);
    }
    // The routes of an evaluation set: its refresh job's dataset declaration, as the catalog holds it
    // now (a re-applied declaration is read within CATALOG_REFRESH_MS, without a restart).
    const declaredRoutes = async (evaluationSet: string): Promise<DeclaredRoutes | undefined> => {
      const declared = await runtime.catalog.refreshJob(evaluationSet).catch((err: unknown) => {
        throw new AppError('CATALOG_ERR_UNAVAILABLE', `catalog not readable: ${String(err)}`, {
          cause: err,
        });
      });
      if (!declared) return undefined;
      const { name, notifications } = declared.dataset;
      return {
        dataset: name,
        slackWebhook: notifications.slack_webhook,
        email: notifications.email,
        pagerDuty: notifications.pagerduty && {
          routingKey: notifications.pagerduty.routing_key,
          priority: notifications.pagerduty.priority,
        },
      };
    };
    const jobs = new JobQueue({
      pool: runtime.pool,
      schema: runtime.schema,
      logger: runtime.logger,
      superviseMs: config.NOTIFY_RETRY_POLL_MS,
    });
    const ports: NotifyPorts = {
      // The job is sent in the claim's transaction, from the task's span: it carries the run's trace.
      claim: (kind, version, payload) =>
        notifications.claim(kind, version, (tx) => delivery.send({ kind, key: version, payload }, { tx })),
      markSent: (kind, version, attempt) => notifications.markSent(kind, version, attempt),
      markRetrying: (kind, version, attempt, error) =>
        notifications.markRetrying(kind, version, attempt, error),
      markFailed: (kind, version, attempt, error) => notifications.markFailed(kind, version, attempt, error),
      readReport: reportReader(s3),
      renderCoverageReport: coverageRenderer(config.COVERAGE_TEMPLATE_PATH),
      slack: (webhook, message) => slackChannel(webhook, config.HTTP_TIMEOUT_MS)(message),
      // loadServiceConfig requires one of the two.
      opsSlack: slackChannel(
        (config.OPS_SLACK_WEBHOOK_URL ?? config.SLACK_WEBHOOK_URL)!,
        config.HTTP_TIMEOUT_MS,
      ),
      producersSlack:
        config.PRODUCERS_SLACK_WEBHOOK_URL === undefined
          ? undefined
          : slackChannel(config.PRODUCERS_SLACK_WEBHOOK_URL, config.HTTP_TIMEOUT_MS),
      email: email.send,
      page: pagerDutyChannel(config.PAGERDUTY_EVENTS_URL, config.HTTP_TIMEOUT_MS),
      declaredRoutes,
      defaults: {
        slackWebhook: config.SLACK_WEBHOOK_URL,
        email: config.EVAL_DISTRIBUTION_LIST?.length ? config.EVAL_DISTRIBUTION_LIST : undefined,
        pagerDutyRoutingKey: config.PAGERDUTY_ROUTING_KEY,
      },
      recordDelivery: (channel, outcome) => deliveries.inc({ channel, outcome }),
      logger: runtime.logger,
    };
    const delivery = defineNotificationJob(jobs, ports, {
      retry: retryPolicy(config.NOTIFY_RETRY_DELAYS_MS),
      leaseMs: config.NOTIFY_SENDING_LEASE_MS,
    });
    // What the retry poller of an older release left sending or parked becomes jobs at start.
    const handOver = async () => {
      const { handed, failed } = await notifications.handOverParked(config.NOTIFY_SENDING_LEASE_MS, (n, tx) =>
        delivery.send(
          { kind: n.kind, key: n.datasetVersion, payload: n.payload },
          { tx, attempt: n.attempt, startAfter: n.dueAt, traceparent: n.traceparent },
        ),
      );
      for (const { kind, attempt } of failed) {
        // Nothing to resend: failed loudly (counted, so it pages) rather than left stuck.
        deliveries.inc({ channel: kind, outcome: 'failed' });
        runtime.logger.error({ kind, attempt }, 'notification failed');
      }
      if (handed > 0)
        runtime.logger.info({ handed }, 'parked notifications of the retry poller handed to jobs');
    };
    return assembleService({
      manifest,
      runtime,
      area: 'NOT',
      handlers: handlers(ports, config.DEAD_LETTER_SERVICES),
      workers: [
        jobWorker(jobs, {
          intervalMs: config.NOTIFY_RETRY_POLL_MS,
          logger: runtime.logger,
          afterStart: handOver,
        }),
      ],
      routes: (http) => registerRoutes(http),
    });
  } catch (err) {
    await runtime.close();
    throw err;
  }
}
