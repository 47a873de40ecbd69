import {
  context,
  propagation,
  trace,
  type Context,
  type Span,
  type SpanKind,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP base URL (e.g. http://127.0.0.1:4318); spans are still created, not exported, when absent. */
  otlpEndpoint?: string | undefined;
  /** Extra processors, e.g. an in-memory exporter in tests. */
  spanProcessors?: SpanProcessor[];
}

let provider: NodeTracerProvider | undefined;

/**
 * Sets up tracing once per process: W3C trace context propagation and AsyncLocalStorage context,
 * so the trace id of the current run is known everywhere (it is the run id, `dag_run_id`).
 */
export function startTracing(opts: TracingOptions): { shutdown: () => Promise<void> } {
  if (!provider) {
    const processors: SpanProcessor[] = [...(opts.spanProcessors ?? [])];
    if (opts.otlpEndpoint) {
      const url = `${opts.otlpEndpoint.replace(/\/$/, '')}/v1/traces`;
      processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 500 }));
    }
    provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName }),
      spanProcessors: processors,
    });
    provider.register();
  }
  const current = provider;
  return {
    shutdown: async () => {
      await current.shutdown();
      if (provider === current) provider = undefined;
    },
  };
}

export function getTracer(name = 'tributary'): Tracer {
  return trace.getTracer(name);
}

/** Trace id of the active span: the run id that logs, events and reports carry. */
export function currentRunId(ctx: Context = context.active()): string | undefined {
  const spanContext = trace.getSpanContext(ctx);
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/** Serialises the active context into carrier headers (`traceparent`, `tracestate`). */
export function injectTraceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** Restores a context from carrier headers; Kafka header values arrive as Buffers. */
export function extractTraceContext(
  headers: Record<string, string | Buffer | (string | Buffer)[] | undefined>,
): Context {
  const carrier: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) carrier[key] = first.toString();
  }
  return propagation.extract(context.active(), carrier);
}

/**
 * Runs `fn` inside a new active span that ends when `fn` settles; errors are recorded on the
 * span and rethrown. One span per seed task keeps the Jaeger view close to the old DAG view.
 */
export async function withSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean | undefined>,
  fn: (span: Span) => Promise<T>,
  opts: { parent?: Context; kind?: SpanKind } = {},
): Promise<T> {
  const tracer = getTracer();
  const clean = Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== undefined)) as Record<
    string,
    string | number | boolean
  >;
  return tracer.startActiveSpan(
    name,
    { attributes: clean, ...(opts.kind === undefined ? {} : { kind: opts.kind }) },
    opts.parent ?? context.active(),
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: 2, message: err instanceof Error ? err.message : String(err) });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/** W3C traceparent of the active span, to store with work resumed later; undefined when untraced. */
export function currentTraceparent(): string | undefined {
  return injectTraceHeaders().traceparent;
}

/**
 * Runs `fn` in a new span that is a child of the span a stored traceparent names, so that work
 * resumed later (a retry, a recovery) stays in its run's trace: its spans, log lines (`dag_run_id`)
 * and the traceparent of the events it emits keep the run id. Without one (work stored before
 * traceparents were kept), the span starts where the caller is.
 */
export function withSpanInTrace<T>(
  traceparent: string | null,
  name: string,
  attributes: Record<string, string | number | boolean | undefined>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return withSpan(name, attributes, fn, traceparent ? { parent: extractTraceContext({ traceparent }) } : {});
}
