import type { DatasetPublished } from '@tributary/events';
import { withTask } from '@tributary/telemetry';
import { emailOnce, resolveRoutes, slackOnce } from './delivery.ts';
import type { NotifyPorts } from './ports.ts';
import { publishedMessages } from './renderers.ts';

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
      const { slack, email } = publishedMessages(published, report, (view) =>
        ports.renderCoverageReport(view),
      );
      await slackOnce(ports, routes, published.dataset_version, slack);
      await emailOnce(ports, routes, published.dataset_version, email);
      ports.logger.info(
        { gaps: report.coverage_gaps?.length ?? 0, declared_by: routes.dataset ?? null },
        'stakeholders notified',
      );
    },
  );
}
