import type { BatchRejected, DatasetPublished, DeadLetter, QualityEvaluated } from '@tributary/events';
import { withTask, type Logger, type RunFields } from '@tributary/telemetry';

/** One line of quality_report.json, as the quality-gate writes it. */
export interface ReportMetric {
  metric: string;
  baseline: number | null;
  value: number;
  delta: number | null;
  threshold: number;
  pass: boolean;
}

export interface QualityReport {
  baseline?: string;
  coverage_gaps?: string[];
  metrics?: ReportMetric[];
}

export interface SlackMessage {
  text: string;
  blocks: unknown[];
}

export interface Email {
  to: readonly string[];
  subject: string;
  text: string;
  attachments: { filename: string; content: string }[];
}

/** PagerDuty Events API v2 `trigger`. */
export interface PagerDutyTrigger {
  routing_key: string;
  event_action: 'trigger';
  dedup_key: string;
  payload: {
    summary: string;
    source: string;
    severity: 'critical' | 'error' | 'warning' | 'info';
    custom_details: Record<string, unknown>;
  };
}

/** A Slack message with the webhook it goes to: the payload of a `slack` notification. */
export interface SlackDelivery {
  webhook: string;
  message: SlackMessage;
}

/** The priority of a page (the PagerDuty service maps it with an event rule on custom_details.priority). */
export type PagerDutyPriority = 'P1' | 'P2' | 'P3' | 'P4' | 'P5';

/**
 * The routes a dataset declaration gives the notifications of its evaluation sets; each one left
 * undefined falls back to the deployment's default.
 */
export interface DeclaredRoutes {
  /** The dataset whose declaration holds the evaluation set's refresh job. */
  dataset: string;
  slackWebhook?: string | undefined;
  email?: readonly string[] | undefined;
  pagerDuty?: { routingKey: string; priority: PagerDutyPriority } | undefined;
}

/** The deployment's default routes (SLACK_WEBHOOK_URL, EVAL_DISTRIBUTION_LIST, PAGERDUTY_ROUTING_KEY). */
export interface DefaultRoutes {
  slackWebhook?: string | undefined;
  email?: readonly string[] | undefined;
  pagerDutyRoutingKey: string;
}

/**
 * Where the notifications of one evaluation set go: its declaration's routes, the defaults for the
 * rest. Slack or email is undefined when neither names one (that message is then not sent).
 */
export interface Routes {
  /** The declaring dataset; undefined for an evaluation set no declaration knows. */
  dataset: string | undefined;
  slackWebhook: string | undefined;
  email: readonly string[] | undefined;
  pagerDuty: { routingKey: string; priority: PagerDutyPriority };
}

/**
 * `ops-slack`: the operators' channel (dead letters); `producers-slack`: the data producers' channel
 * (rejected batches); the others reach the evaluation leads.
 */
export const CHANNELS = ['slack', 'ops-slack', 'producers-slack', 'email', 'pagerduty'] as const;
export type Channel = (typeof CHANNELS)[number];

/** What one delivery attempt came to (the `outcome` label of notifications_total). */
export const DELIVERY_OUTCOMES = ['sent', 'retrying', 'failed'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

export interface NotifyPorts {
  /**
   * Claims a notification: records it (once per kind and key, whatever the redeliveries) and parks
   * its delivery as a durable job carrying the payload and the run's trace, in one transaction;
   * false when it was claimed before.
   */
  claim(kind: Channel, datasetVersion: string, payload: unknown): Promise<boolean>;
  /** Records the attempt that delivered it. */
  markSent(kind: Channel, datasetVersion: string, attempt: number): Promise<void>;
  /** Records a failed attempt whose retry (attempt `nextAttempt`) the job will run. */
  markRetrying(kind: Channel, datasetVersion: string, nextAttempt: number, error: string): Promise<void>;
  markFailed(kind: Channel, datasetVersion: string, attempt: number, error: string): Promise<void>;
  readReport(uri: string): Promise<QualityReport>;
  renderCoverageReport(view: Record<string, unknown>): string;
  /** Posts to a Slack incoming webhook (the route of the evaluation set, kept in the payload). */
  slack(webhook: string, message: SlackMessage): Promise<void>;
  opsSlack(message: SlackMessage): Promise<void>;
  /** Absent when no producers' channel is configured: rejected batches are then not announced. */
  producersSlack?: ((message: SlackMessage) => Promise<void>) | undefined;
  email(message: Email): Promise<void>;
  page(event: PagerDutyTrigger): Promise<void>;
  /**
   * The routes declared for the evaluation set `name` (the catalog's refresh job of that name and
   * its dataset's `notifications`); undefined when no declaration has it.
   */
  declaredRoutes(evaluationSet: string): Promise<DeclaredRoutes | undefined>;
  /** Routes of undeclared evaluation sets, and of each route a declaration leaves unset. */
  defaults: DefaultRoutes;
  /** Counts each delivery attempt by channel and outcome (the notifications_total metric). */
  recordDelivery(kind: Channel, outcome: DeliveryOutcome): void;
  logger: Logger;
}

/** Sends one payload on its channel. */
export function deliver(ports: NotifyPorts, kind: Channel, payload: unknown): Promise<void> {
  if (kind === 'slack') {
    const p = payload as SlackDelivery | SlackMessage;
    if ('webhook' in p) return ports.slack(p.webhook, p.message);
    // Claimed before the route was kept with the payload: the deployment's evaluation channel.
    if (ports.defaults.slackWebhook === undefined) {
      return Promise.reject(new Error('no Slack webhook is kept with the payload nor configured'));
    }
    return ports.slack(ports.defaults.slackWebhook, p);
  }
  if (kind === 'ops-slack') return ports.opsSlack(payload as SlackMessage);
  if (kind === 'producers-slack') {
    if (!ports.producersSlack) return Promise.reject(new Error('no producers channel is configured'));
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
function once(ports: NotifyPorts, kind: Channel, version: string, payload: unknown): Promise<boolean> {
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
function slackOnce(
  ports: NotifyPorts,
  routes: Routes,
  version: string,
  message: SlackMessage,
): Promise<boolean> {
  if (routes.slackWebhook === undefined) return unrouted(ports, 'slack', routes);
  return once(ports, 'slack', version, { webhook: routes.slackWebhook, message } satisfies SlackDelivery);
}

/** The email of a dataset version to its recipients, once; nothing when no list is known. */
function emailOnce(
  ports: NotifyPorts,
  routes: Routes,
  version: string,
  email: Omit<Email, 'to'>,
): Promise<boolean> {
  if (routes.email === undefined) return unrouted(ports, 'email', routes);
  return once(ports, 'email', version, { to: routes.email, ...email } satisfies Email);
}

function unrouted(ports: NotifyPorts, kind: Channel, routes: Routes): Promise<boolean> {
  ports.logger.warn(
    { kind, declared_by: routes.dataset ?? null },
    `no ${kind} route: neither the dataset declaration nor the deployment names one, nothing sent`,
  );
  return Promise.resolve(false);
}

/**
 * The seed's `notify_stakeholders`: a Slack summary and an email to the evaluation list with the
 * coverage gap highlights and `coverage_gap_report.md`, to the routes of the dataset declaring the
 * evaluation set (the deployment defaults for the rest). Each is sent once per dataset version.
 */
export async function notifyPublished(published: DatasetPublished, ports: NotifyPorts): Promise<void> {
  await withTask(
    'notify_stakeholders',
    { dataset: published.dataset, dataset_version: published.dataset_version },
    async () => {
      const routes = await resolveRoutes(ports, published.dataset);
      const report = await ports.readReport(published.quality_report_uri);
      const gaps = report.coverage_gaps ?? [];
      const metrics = report.metrics ?? [];
      const highlights = gapHighlights(gaps);
      const title = `Dataset ${published.dataset} ${published.dataset_version} published`;
      const markdown = ports.renderCoverageReport(
        coverageView(published.dataset, published.dataset_version, report.baseline ?? '', gaps, metrics, {
          published_at: new Date(published.generated_at).toISOString(),
          location: published.location,
          checksum: published.checksum,
          source_hash: published.source_hash,
        }),
      );
      const metricLines = metrics.map(metricLine);
      await slackOnce(ports, routes, published.dataset_version, {
        text: `${title}. ${highlights}`,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: title } },
          { type: 'section', text: { type: 'mrkdwn', text: `*Coverage*: ${highlights}` } },
          { type: 'section', text: { type: 'mrkdwn', text: metricLines.join('\n') || 'No metrics.' } },
          { type: 'context', elements: [{ type: 'mrkdwn', text: `Location: ${published.location}` }] },
        ],
      } satisfies SlackMessage);
      await emailOnce(ports, routes, published.dataset_version, {
        subject: `[tributary] ${title}`,
        text: [title, '', highlights, '', ...metricLines, '', `Location: ${published.location}`].join('\n'),
        attachments: [{ filename: 'coverage_gap_report.md', content: markdown }],
      });
      ports.logger.info({ gaps: gaps.length, declared_by: routes.dataset ?? null }, 'stakeholders notified');
    },
  );
}

/** The view of templates/coverage_gap_report.md; `published` is absent for a version the gate held back. */
function coverageView(
  dataset: string,
  datasetVersion: string,
  baseline: string,
  gaps: readonly string[],
  metrics: readonly ReportMetric[],
  published?: { published_at: string; location: string; checksum: string; source_hash: string },
): Record<string, unknown> {
  return {
    dataset,
    dataset_version: datasetVersion,
    ...published,
    baseline,
    has_gaps: gaps.length > 0,
    gaps,
    metrics: metrics.map((m) => ({
      ...m,
      baseline: m.baseline ?? '-',
      delta: m.delta ?? '-',
      pass: m.pass ? 'yes' : 'no',
    })),
  };
}

function gapHighlights(gaps: readonly string[]): string {
  return gaps.length === 0
    ? 'No coverage gaps: every baseline slice is present.'
    : `Coverage gaps: ${gaps.join(', ')}`;
}

function metricLine(m: ReportMetric): string {
  return `${m.pass ? '✅' : '❌'} ${m.metric}: ${fmt(m.value)} (threshold ${fmt(m.threshold)})`;
}

/**
 * The seed's objective "notify evaluation leads when dataset quality drops below thresholds": when
 * the gate measured a candidate and failed it, the leads get a Slack message and an email with the
 * failing metrics and `coverage_gap_report.md`, besides the on-call page. A run that failed before
 * the gate (TASK_FAILED) measured nothing: that is for the on-call alone. Once per dataset version.
 */
export async function alertLeadsOnGateFailure(
  evaluated: QualityEvaluated,
  routes: Routes,
  ports: NotifyPorts,
): Promise<boolean> {
  if (evaluated.passed || evaluated.status === 'TASK_FAILED') return false;
  return withTask(
    'notify_stakeholders',
    { dataset: evaluated.dataset, dataset_version: evaluated.dataset_version, gate_passed: false },
    async () => {
      // The event carries the metrics and gaps: no need to read quality_report.json to tell the leads.
      const metrics: ReportMetric[] = evaluated.metrics.map((m) => ({
        metric: m.name,
        baseline: m.baseline,
        value: m.value,
        delta: m.delta,
        threshold: m.threshold,
        pass: m.passed,
      }));
      const failing = metrics.filter((m) => !m.pass).map((m) => m.metric);
      const title = `Quality gate failed for ${evaluated.dataset} ${evaluated.dataset_version}: not published`;
      const highlights = gapHighlights(evaluated.coverage_gaps);
      const below = `Below threshold: ${failing.join(', ') || 'see report'}`;
      const markdown = ports.renderCoverageReport(
        coverageView(
          evaluated.dataset,
          evaluated.dataset_version,
          evaluated.baseline_name,
          evaluated.coverage_gaps,
          metrics,
        ),
      );
      const metricLines = metrics.map(metricLine);
      const where = `Report: ${evaluated.report_uri || 'none'} · run ${evaluated.run_id}`;
      await slackOnce(ports, routes, evaluated.dataset_version, {
        text: `${title}. ${below}. ${highlights}`,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: title } },
          { type: 'section', text: { type: 'mrkdwn', text: `*${below}*\n*Coverage*: ${highlights}` } },
          { type: 'section', text: { type: 'mrkdwn', text: metricLines.join('\n') || 'No metrics.' } },
          { type: 'context', elements: [{ type: 'mrkdwn', text: where }] },
        ],
      } satisfies SlackMessage);
      await emailOnce(ports, routes, evaluated.dataset_version, {
        subject: `[tributary] ${title}`,
        text: [title, '', below, highlights, '', ...metricLines, '', where].join('\n'),
        attachments: [{ filename: 'coverage_gap_report.md', content: markdown }],
      });
      ports.logger.info(
        { failing, declared_by: routes.dataset ?? null },
        'evaluation leads told of the failed gate',
      );
      return true;
    },
  );
}

/**
 * What a quality.evaluated tells: nothing when the gate passed (the publisher announces it);
 * otherwise the page, then the evaluation leads on a failed gate, all to the routes of the dataset
 * declaring the evaluation set (resolved once, before the claims).
 */
export async function notifyGateOutcome(evaluated: QualityEvaluated, ports: NotifyPorts): Promise<void> {
  if (evaluated.passed) return;
  const routes = await resolveRoutes(ports, evaluated.dataset);
  await pageOnGateFailure(evaluated, routes, ports);
  await alertLeadsOnGateFailure(evaluated, routes, ports);
}

/**
 * The page on a failed quality gate, or on a run that failed before the gate (`status:
 * TASK_FAILED`, e.g. ingest_sources): a PagerDuty `trigger` deduplicated by dataset_version, to the
 * routing key of the declaring dataset with its priority (else PAGERDUTY_ROUTING_KEY and P2).
 * PagerDuty derives incident priority from the service's rules, so the priority travels in
 * custom_details and in the severity (P1 critical, P2 error, P3 warning, P4 and P5 info; see
 * docs/operations.md, "Where notifications go").
 */
export async function pageOnGateFailure(
  evaluated: QualityEvaluated,
  routes: Routes,
  ports: NotifyPorts,
): Promise<boolean> {
  if (evaluated.passed) return false;
  return withTask(
    'notify_stakeholders',
    {
      dataset: evaluated.dataset,
      dataset_version: evaluated.dataset_version,
      page: routes.pagerDuty.priority,
    },
    () => once(ports, 'pagerduty', evaluated.dataset_version, pagerDutyTrigger(evaluated, routes)),
  );
}

/** The PagerDuty severity of each priority, for services whose event rules match the severity. */
const SEVERITY: Record<PagerDutyPriority, PagerDutyTrigger['payload']['severity']> = {
  P1: 'critical',
  P2: 'error',
  P3: 'warning',
  P4: 'info',
  P5: 'info',
};

function pagerDutyTrigger(evaluated: QualityEvaluated, routes: Routes): PagerDutyTrigger {
  const { routingKey, priority } = routes.pagerDuty;
  const failed = evaluated.metrics.filter((m) => !m.passed);
  // A run that failed before the gate (e.g. in ingest_sources) names the task and the reason.
  const summary =
    evaluated.status === 'TASK_FAILED'
      ? `Dataset refresh failed for ${evaluated.dataset} ${evaluated.dataset_version} in ${evaluated.failed_task ?? 'a task'}: ${evaluated.failure_reason ?? 'see run'}`
      : `Quality gate failed for ${evaluated.dataset} ${evaluated.dataset_version}: ${failed.map((m) => m.name).join(', ') || 'see report'}`;
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: evaluated.dataset_version,
    payload: {
      // PagerDuty truncates summaries at 1024 characters.
      summary: summary.slice(0, 1024),
      source: 'tributary/quality-gate',
      severity: SEVERITY[priority],
      custom_details: {
        priority,
        dataset: evaluated.dataset,
        declared_by: routes.dataset ?? null,
        dataset_version: evaluated.dataset_version,
        baseline: evaluated.baseline_name,
        failed_metrics: failed.map((m) => ({ name: m.name, value: m.value, threshold: m.threshold })),
        coverage_gaps: evaluated.coverage_gaps,
        report_uri: evaluated.report_uri || null,
        run_id: evaluated.run_id,
        status: evaluated.status,
        failed_task: evaluated.failed_task,
        failure_reason: evaluated.failure_reason,
      },
    },
  };
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(4);
}

/**
 * Tells the operators' channel that a service gave up on a message: which service, what it was
 * reading, the error, and how to look at it and replay it once the cause is fixed. Sent once per
 * dead letter (keyed by its event id), whatever the redeliveries.
 */
export async function notifyDeadLetter(
  deadLetter: DeadLetter,
  where: { topic: string; partition: number; offset: string },
  ports: NotifyPorts,
): Promise<boolean> {
  return withTask(
    'notify_dead_letter',
    { service: deadLetter.service, error_code: deadLetter.error_code },
    () =>
      once(
        ports,
        'ops-slack',
        `dead-letter/${deadLetter.service}/${deadLetter.event_id}`,
        deadLetterMessage(deadLetter, where),
      ),
  );
}

function deadLetterMessage(
  dl: DeadLetter,
  where: { topic: string; partition: number; offset: string },
): SlackMessage {
  const source = `${dl.source_topic} [${dl.source_partition}:${dl.source_offset}]`;
  const headline = `:rotating_light: ${dl.service} dead-lettered a message from ${source} after ${dl.attempts} attempt(s): ${dl.error_code}`;
  const commands = [
    `tributary dlq list --service ${dl.service}`,
    `tributary dlq replay --service ${dl.service} --offset ${where.partition}:${where.offset}`,
  ].join('\n');
  return {
    text: `${headline}. ${dl.error_message}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${headline}*\n${dl.error_message}` } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `dead letter ${where.topic} [${where.partition}:${where.offset}] · run ${dl.run_id ?? 'unknown'} · ${dl.retriable ? 'retriable' : 'not retriable'}`,
          },
        ],
      },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `Once the cause is fixed:\n\`\`\`${commands}\`\`\`` },
      },
    ],
  };
}

/**
 * Tells the data producers' channel that a batch was rejected, or that some of its rows were
 * quarantined: which batch, at which stage, why, and where the report of the bad rows is. Sent once
 * per rejection event; nothing when no producers' channel is configured.
 */
export async function notifyRejectedBatch(rejected: BatchRejected, ports: NotifyPorts): Promise<boolean> {
  if (!ports.producersSlack) return false;
  return withTask(
    'notify_rejected_batch',
    { dataset: rejected.dataset, batch_id: rejected.batch_id, error_code: rejected.error_code },
    () => once(ports, 'producers-slack', `batch-rejected/${rejected.event_id}`, rejectionMessage(rejected)),
  );
}

function rejectionMessage(r: BatchRejected): SlackMessage {
  const headline = r.partial
    ? `:warning: ${r.rejected_rows} row(s) of batch ${r.batch_id} (${r.dataset}, from ${r.producer}) were quarantined at ${r.stage}; the other rows merged`
    : `:x: batch ${r.batch_id} (${r.dataset}, from ${r.producer}) was rejected at ${r.stage}: ${r.error_code}`;
  const report = r.report_uri ? `report of the bad rows: ${r.report_uri}` : 'no report';
  return {
    text: `${headline}. ${r.reason}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${headline}*\n${r.reason}` } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `${report} · run ${r.run_id ?? 'unknown'}` }],
      },
    ],
  };
}
