import type { QualityEvaluated } from '@tributary/events';
import { withTask } from '@tributary/telemetry';
import { claimOnce, emailOnce, resolveRoutes, slackOnce } from './delivery.ts';
import type { NotifyPorts, Routes } from './ports.ts';
import { gateFailedMessages, pagerDutyTrigger } from './renderers.ts';

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
    () => claimOnce(ports, 'pagerduty', evaluated.dataset_version, pagerDutyTrigger(evaluated, routes)),
  );
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
      const { slack, email, failing } = gateFailedMessages(evaluated, (view) =>
        ports.renderCoverageReport(view),
      );
      await slackOnce(ports, routes, evaluated.dataset_version, slack);
      await emailOnce(ports, routes, evaluated.dataset_version, email);
      ports.logger.info(
        { failing, declared_by: routes.dataset ?? null },
        'evaluation leads told of the failed gate',
      );
      return true;
    },
  );
}
