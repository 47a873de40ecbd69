import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per process with the metrics every service shares. Libraries register their own
 * metrics in the same registry (passed to them), so `/metrics` shows everything in one place.
 */
export function createMetrics(serviceName: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service: serviceName });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    /** The seed's DAG metrics: one observation per pipeline run (task chain) a service finishes. */
    dagDuration: new Histogram({
      name: 'dag_duration_seconds',
      help: 'Duration of a pipeline run step owned by this service',
      labelNames: ['dag', 'status'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
      registers: [registry],
    }),
    dagStatus: new Counter({
      name: 'dag_status',
      help: 'Pipeline runs by final status (success, failed, rejected, skipped)',
      labelNames: ['dag', 'status'],
      registers: [registry],
    }),
    taskDuration: new Histogram({
      name: 'task_duration_seconds',
      help: 'Duration of each seed task',
      labelNames: ['task', 'status'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
export { Counter, Gauge, Histogram, Registry };
