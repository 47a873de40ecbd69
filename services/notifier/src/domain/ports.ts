import type { qualityGate } from '@tributary/api';
import type { Logger } from '@tributary/telemetry';

/** One line of quality_report.json, as the quality-gate writes it (schema in @tributary/api). */
export type ReportMetric = qualityGate.GateMetric;

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
