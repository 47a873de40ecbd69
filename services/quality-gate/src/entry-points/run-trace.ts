import { extractTraceContext, injectTraceHeaders, withSpan } from '@tributary/telemetry';

/** W3C traceparent of the active span, stored with a new run; undefined when nothing is traced. */
export function activeTraceparent(): string | undefined {
  return injectTraceHeaders().traceparent;
}

/**
 * Runs `fn` in a span of a stored run's trace (child of the span its traceparent names), so that
 * what a retry or a recovery does keeps the run id: spans, log lines (`dag_run_id`) and the
 * traceparent of the events it enqueues. A run stored without one (older runs) runs as it is.
 */
export function inRunTrace<T>(
  traceparent: string | null,
  name: string,
  attributes: Record<string, string | number | boolean | undefined>,
  fn: () => Promise<T>,
): Promise<T> {
  if (traceparent === null) return fn();
  return withSpan(name, attributes, fn, { parent: extractTraceContext({ traceparent }) });
}
