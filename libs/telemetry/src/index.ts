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
export { createLogger, setLogFields, withLogFields, type Logger, type RunFields } from './logger.ts';
export {
  DATA_PIPELINE_DAG,
  SINCE_READY_BUCKETS,
  dataPipelineRuns,
  type DataPipelineRuns,
} from './pipeline.ts';
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
export { Instrumentation, type RemoveListener } from './instrumentation.ts';
