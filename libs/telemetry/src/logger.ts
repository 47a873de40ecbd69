import { AsyncLocalStorage } from 'node:async_hooks';
import { trace, context } from '@opentelemetry/api';
import { pino, type Logger, type LoggerOptions } from 'pino';

/** Fields of the seed's structured logs that are known only within a run. */
export interface RunFields {
  task_id?: string;
  dataset_version?: string;
  [key: string]: string | number | undefined;
}

const runFields = new AsyncLocalStorage<RunFields>();

/** Runs `fn` with extra fields on every log line written inside it (nested calls merge). */
export function withLogFields<T>(fields: RunFields, fn: () => T): T {
  return runFields.run({ ...runFields.getStore(), ...fields }, fn);
}

/**
 * Sets fields on the current log scope, for the lines written after it in that scope (e.g. the
 * `dataset_version` a merge learns when it commits); no-op outside withLogFields. Scopes opened
 * before keep the values they copied.
 */
export function setLogFields(fields: RunFields): void {
  const store = runFields.getStore();
  if (store) Object.assign(store, fields);
}

/**
 * A pino JSON logger whose every line carries the run context: `dag_run_id` (the trace id),
 * `trace_id`, `span_id`, plus `task_id` and `dataset_version` when a use case set them.
 */
export function createLogger(opts: {
  serviceName: string;
  level?: string;
  destination?: NodeJS.WritableStream;
}): Logger {
  const options: LoggerOptions = {
    name: opts.serviceName,
    level: opts.level ?? 'info',
    base: { service: opts.serviceName },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: [
        'password',
        '*.password',
        'token',
        '*.token',
        'authorization',
        '*.authorization',
        'headers.authorization',
      ],
      censor: '***',
    },
    mixin() {
      const spanContext = trace.getSpanContext(context.active());
      const fields: Record<string, unknown> = { ...runFields.getStore() };
      if (spanContext && trace.isSpanContextValid(spanContext)) {
        fields.dag_run_id = spanContext.traceId;
        fields.trace_id = spanContext.traceId;
        fields.span_id = spanContext.spanId;
      }
      return fields;
    },
  };
  return opts.destination ? pino(options, opts.destination as pino.DestinationStream) : pino(options);
}

export type { Logger };
