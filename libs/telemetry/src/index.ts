export {
  currentRunId,
  currentTraceparent,
  extractTraceContext,
  getTracer,
  injectTraceHeaders,
  startTracing,
  withSpan,
  withSpanInTrace,
  type TracingOptions,
} from './tracing.ts';
export { createLogger, withLogFields, type Logger, type RunFields } from './logger.ts';
export { withTask } from './task.ts';
export type { Span } from '@opentelemetry/api';
export { Counter, Gauge, Histogram, Registry, createMetrics, type Metrics } from './metrics.ts';
export {
  OpenLineageEmitter,
  setDefaultLineageScope,
  withLineageScope,
  type LineageRun,
  type OpenLineageOptions,
  type TaskLineageScope,
} from './openlineage.ts';
