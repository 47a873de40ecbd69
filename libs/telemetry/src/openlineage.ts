import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** Where OpenLineage run events go: an HTTP endpoint (Marquez, DataHub, ...) from configuration. */
export interface OpenLineageOptions {
  /** Base URL; events are POSTed to `<url>/api/v1/lineage`. */
  url: string;
  /** Job namespace, e.g. `tributary`. */
  namespace: string;
  /** Namespace of the Kafka datasets, e.g. `kafka://broker:9092`. */
  kafkaNamespace: string;
  timeoutMs?: number;
}

export interface LineageRun {
  runId: string;
  job: string;
  inputs: string[];
  outputs: string[];
  /** Trace id of the pipeline run, kept as a facet so lineage and traces join. */
  traceId: string | undefined;
  /** The run this one is part of (a task's run names the run of the message it handles). */
  parent?: { runId: string; job: string } | undefined;
}

/** Where the tasks of the current unit of work report: the emitter, the service and the parent run. */
export interface TaskLineageScope {
  emitter: OpenLineageEmitter;
  service: string;
  parent?: LineageRun | undefined;
}

const scope = new AsyncLocalStorage<TaskLineageScope>();
let fallback: TaskLineageScope | undefined;

/** Runs `fn` with tasks inside it reporting to `value` (the consumer runner sets it per message). */
export function withLineageScope<T>(value: TaskLineageScope | undefined, fn: () => T): T {
  return value ? scope.run(value, fn) : fn();
}

/** The scope of tasks started outside a message (schedule, admin API, pollers): one per process. */
export function setDefaultLineageScope(value: TaskLineageScope | undefined): void {
  fallback = value;
}

/** Where a task started now reports, if anywhere. */
export function currentLineageScope(): TaskLineageScope | undefined {
  return scope.getStore() ?? fallback;
}

const PRODUCER = 'https://github.com/tributary/tributary';
const SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';

/**
 * Emits OpenLineage RunEvents (START, then COMPLETE or FAIL) for each task a service runs.
 * Delivery is best effort: lineage must never hold up or fail the pipeline, so errors are
 * reported through `onError` and dropped.
 */
export class OpenLineageEmitter {
  private readonly opts: OpenLineageOptions;
  private readonly onError: (err: unknown) => void;
  constructor(opts: OpenLineageOptions, onError: (err: unknown) => void = () => undefined) {
    this.opts = opts;
    this.onError = onError;
  }

  start(
    job: string,
    inputs: string[],
    traceId: string | undefined,
    parent?: { runId: string; job: string },
  ): LineageRun {
    const run = { runId: randomUUID(), job, inputs, outputs: [], traceId, parent };
    this.emit('START', run);
    return run;
  }

  complete(run: LineageRun): void {
    this.emit('COMPLETE', run);
  }

  fail(run: LineageRun, error: Error): void {
    this.emit('FAIL', run, error);
  }

  private emit(eventType: 'START' | 'COMPLETE' | 'FAIL', run: LineageRun, error?: Error): void {
    const dataset = (name: string) => ({ namespace: this.opts.kafkaNamespace, name });
    const body = {
      eventType,
      eventTime: new Date().toISOString(),
      producer: PRODUCER,
      schemaURL: SCHEMA_URL,
      run: {
        runId: run.runId,
        facets: {
          ...(run.traceId
            ? { tributary_trace: { _producer: PRODUCER, _schemaURL: SCHEMA_URL, traceId: run.traceId } }
            : {}),
          ...(run.parent
            ? {
                parent: {
                  _producer: PRODUCER,
                  _schemaURL: 'https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json',
                  run: { runId: run.parent.runId },
                  job: { namespace: this.opts.namespace, name: run.parent.job },
                },
              }
            : {}),
          ...(error
            ? {
                errorMessage: {
                  _producer: PRODUCER,
                  _schemaURL: 'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json',
                  message: error.message,
                  programmingLanguage: 'TypeScript',
                },
              }
            : {}),
        },
      },
      job: { namespace: this.opts.namespace, name: run.job },
      inputs: run.inputs.map(dataset),
      outputs: run.outputs.map(dataset),
    };
    void fetch(`${this.opts.url.replace(/\/$/, '')}/api/v1/lineage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 2000),
    })
      .then((res) => {
        if (!res.ok) this.onError(new Error(`OpenLineage endpoint answered ${res.status}`));
      })
      .catch(this.onError);
  }
}
