import type { Span } from '@opentelemetry/api';
import { withLogFields } from './logger.ts';
import { currentLineageScope } from './openlineage.ts';
import { currentRunId, withSpan } from './tracing.ts';

/**
 * Runs one seed task (ingest_sources, publish_dataset, ...): a span named after the task, child of
 * the run's current span, and `task_id` (plus `dataset_version` when given) on every log line in it.
 * Attributes are prefixed `tributary.`; the span is passed in for what is known only at the end.
 * With OpenLineage configured, the task is also a run of job `<service>.<task>` (START, then
 * COMPLETE or FAIL), part of the run of the message being handled when there is one.
 */
export function withTask<T>(
  taskId: string,
  attributes: { dataset_version?: string; [key: string]: string | number | boolean | undefined },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const spanAttributes = Object.fromEntries(
    Object.entries({ task_id: taskId, ...attributes }).map(([k, v]) => [`tributary.${k}`, v]),
  );
  const logFields = {
    task_id: taskId,
    ...(attributes.dataset_version === undefined ? {} : { dataset_version: attributes.dataset_version }),
  };
  return withLogFields(logFields, () =>
    withSpan(taskId, spanAttributes, async (span) => {
      const lineage = currentLineageScope();
      const run = lineage?.emitter.start(
        `${lineage.service}.${taskId}`,
        [],
        currentRunId() ?? lineage.parent?.traceId,
        lineage.parent && { runId: lineage.parent.runId, job: lineage.parent.job },
      );
      try {
        const value = await fn(span);
        if (run) lineage?.emitter.complete(run);
        return value;
      } catch (err) {
        if (run) lineage?.emitter.fail(run, err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
    }),
  );
}
