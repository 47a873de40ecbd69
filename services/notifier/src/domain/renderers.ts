import type { BatchRejected, DatasetPublished, DeadLetter, QualityEvaluated } from '@tributary/events';
import type {
  Email,
  PagerDutyTrigger,
  PagerDutyPriority,
  QualityReport,
  ReportMetric,
  Routes,
  SlackMessage,
} from './ports.ts';

/** A Slack message and an email (its recipients are the route's) telling the same thing. */
export interface Messages {
  slack: SlackMessage;
  email: Omit<Email, 'to'>;
}

/** Renders templates/coverage_gap_report.md from its view (the coverageRenderer port). */
type RenderCoverage = (view: Record<string, unknown>) => string;

/** The evaluation leads' messages of a published version: gap highlights, metrics, the gap report. */
export function publishedMessages(
  published: DatasetPublished,
  report: QualityReport,
  renderCoverage: RenderCoverage,
): Messages {
  const gaps = report.coverage_gaps ?? [];
  const metrics = report.metrics ?? [];
  const highlights = gapHighlights(gaps);
  const title = `Dataset ${published.dataset} ${published.dataset_version} published`;
  const markdown = renderCoverage(
    coverageView(published.dataset, published.dataset_version, report.baseline ?? '', gaps, metrics, {
      published_at: new Date(published.generated_at).toISOString(),
      location: published.location,
      checksum: published.checksum,
      source_hash: published.source_hash,
    }),
  );
  const metricLines = metrics.map(metricLine);
  return {
    slack: {
      text: `${title}. ${highlights}`,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: title } },
        { type: 'section', text: { type: 'mrkdwn', text: `*Coverage*: ${highlights}` } },
        { type: 'section', text: { type: 'mrkdwn', text: metricLines.join('\n') || 'No metrics.' } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: `Location: ${published.location}` }] },
      ],
    },
    email: {
      subject: `[tributary] ${title}`,
      text: [title, '', highlights, '', ...metricLines, '', `Location: ${published.location}`].join('\n'),
      attachments: [{ filename: 'coverage_gap_report.md', content: markdown }],
    },
  };
}

/**
 * The evaluation leads' messages of a failed gate: the failing metrics, the gaps and the gap report,
 * from the event alone (it carries the metrics and gaps: quality_report.json is not read).
 */
export function gateFailedMessages(
  evaluated: QualityEvaluated,
  renderCoverage: RenderCoverage,
): Messages & { failing: string[] } {
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
  const markdown = renderCoverage(
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
  return {
    failing,
    slack: {
      text: `${title}. ${below}. ${highlights}`,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: title } },
        { type: 'section', text: { type: 'mrkdwn', text: `*${below}*\n*Coverage*: ${highlights}` } },
        { type: 'section', text: { type: 'mrkdwn', text: metricLines.join('\n') || 'No metrics.' } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: where }] },
      ],
    },
    email: {
      subject: `[tributary] ${title}`,
      text: [title, '', below, highlights, '', ...metricLines, '', where].join('\n'),
      attachments: [{ filename: 'coverage_gap_report.md', content: markdown }],
    },
  };
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

/** The PagerDuty severity of each priority, for services whose event rules match the severity. */
const SEVERITY: Record<PagerDutyPriority, PagerDutyTrigger['payload']['severity']> = {
  P1: 'critical',
  P2: 'error',
  P3: 'warning',
  P4: 'info',
  P5: 'info',
};

export function pagerDutyTrigger(evaluated: QualityEvaluated, routes: Routes): PagerDutyTrigger {
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

export function deadLetterMessage(
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

export function rejectionMessage(r: BatchRejected): SlackMessage {
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
