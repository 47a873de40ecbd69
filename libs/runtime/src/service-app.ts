import type { FastifyInstance } from 'fastify';
import { ConsumerRunner, type EventHandler } from '@tributary/kafka';
import type { RemoveListener } from '@tributary/telemetry';
import type { HttpArea } from './errors.ts';
import { buildHttp } from './http.ts';
import type { Runtime } from './runtime.ts';

/**
 * One finished round of a worker's loop, begun at `startedAt`. `settled`: the round did all it
 * found to do (a poller's tick that did not fail, an outbox relay's read that found the outbox empty,
 * or a standby relay's round while another replica leads).
 */
export interface WorkerTick {
  startedAt: number;
  settled: boolean;
}

/** Something that runs beside the consumer: the outbox relay, a scheduler, a directory watcher. */
export interface Worker {
  readonly name: string;
  start(): void | Promise<void>;
  stop(): Promise<void>;
  /** Announces each finished round, for workers that poll (the relay, the retry pollers). */
  on?(name: 'tick', listener: (tick: WorkerTick) => void): RemoveListener;
}

export interface ServiceParts {
  runtime: Runtime;
  /** Error-code area of the service (`ING`, `PRE`...): its HTTP errors are `<AREA>_ERR_<PROBLEM>`. */
  area: HttpArea;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers of different events share one list
  handlers: readonly EventHandler<any>[];
  workers?: readonly Worker[];
  /** Admin routes of the service, registered on the shared HTTP server. */
  routes?: (http: FastifyInstance) => void;
}

/** A service, built and wired but not started: what buildApp returns and tests drive. */
export interface ServiceApp {
  readonly runtime: Runtime;
  readonly http: FastifyInstance;
  readonly runner: ConsumerRunner;
  readonly workers: readonly Worker[];
  start(): Promise<void>;
  /** Stop consuming (in-flight work drains or is handed back), stop workers, close HTTP, then pools. */
  stop(): Promise<void>;
}

export function assembleService(parts: ServiceParts): ServiceApp {
  const { runtime } = parts;
  const { config } = runtime;
  const runner = new ConsumerRunner({
    kafka: runtime.kafka,
    registry: runtime.registry,
    producer: runtime.producer,
    service: runtime.serviceName,
    groupId: `${runtime.topicPrefix}tributary.${runtime.serviceName}`,
    handlers: parts.handlers,
    logger: runtime.logger,
    metricsRegistry: runtime.metrics.registry,
    retry: {
      maxRetries: config.CONSUMER_MAX_RETRIES,
      baseMs: config.CONSUMER_RETRY_BASE_MS,
      maxMs: config.CONSUMER_RETRY_MAX_MS,
    },
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    maxWaitTimeMs: config.KAFKA_FETCH_MAX_WAIT_MS,
    topicPrefix: runtime.topicPrefix,
    lineage: runtime.lineage,
  });
  const workers = parts.workers ?? [];
  const http = buildHttp(runtime, () => parts.handlers.length === 0 || runner.isRunning, parts.area);
  parts.routes?.(http);
  let stopping: Promise<void> | undefined;
  return {
    runtime,
    http,
    runner,
    workers,
    async start() {
      for (const w of workers) await w.start();
      await runner.start();
      runtime.logger.info({ topics: runner.topics, workers: workers.map((w) => w.name) }, 'started');
    },
    stop() {
      stopping ??= (async () => {
        runtime.logger.info('stopping');
        await runner.stop();
        for (const w of [...workers].reverse()) await w.stop();
        await http.close();
        await runtime.close();
      })();
      return stopping;
    },
  };
}
