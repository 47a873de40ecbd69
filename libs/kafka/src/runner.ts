import { SpanKind, trace } from '@opentelemetry/api';
import type { Consumer, EachMessagePayload, Kafka, KafkaMessage } from 'kafkajs';
import pRetry, { AbortError } from 'p-retry';
import { AppError, toAppError } from '@tributary/errors';
import { prefixEvent, type EventDefinition, type EventRegistry } from '@tributary/events';
import {
  Counter,
  Gauge,
  Histogram,
  Instrumentation,
  extractTraceContext,
  type OpenLineageEmitter,
  withLineageScope,
  withLogFields,
  withSpan,
  type Logger,
  type Registry,
  type RemoveListener,
  type RunFields,
} from '@tributary/telemetry';
import { DeadLetterPublisher } from './dead-letter.ts';
import type { EventHandler } from './handler.ts';
import type { EventProducer } from './producer.ts';

export interface RetryPolicy {
  /** Attempts after the first one before the message is dead-lettered. */
  maxRetries: number;
  baseMs: number;
  maxMs: number;
}

export interface ConsumerRunnerOptions {
  kafka: Kafka;
  registry: EventRegistry;
  producer: EventProducer;
  service: string;
  groupId: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers of different events share one list
  handlers: readonly EventHandler<any>[];
  logger: Logger;
  metricsRegistry: Registry;
  retry: RetryPolicy;
  /** How long stop() lets an in-flight handler finish before aborting it (it is then redelivered). */
  shutdownGraceMs: number;
  /**
   * How long the group waits for a silent member before handing its partitions to others: after a
   * kill -9 the restarted replica consumes again only once this expired (default 8 s).
   */
  sessionTimeoutMs?: number;
  /** Longest a fetch waits on idle partitions (kafkajs' maxWaitTimeInMs, default 5 s); stop() waits for it. */
  maxWaitTimeMs?: number;
  partitionsConsumedConcurrently?: number;
  fromBeginning?: boolean;
  /** Namespace of the consumed topics (see prefixEvent); the producer's prefix names the DLQ. */
  topicPrefix?: string;
  /** OpenLineage run events for each handled message (job `<service>.<event>`), when configured. */
  lineage?: OpenLineageEmitter | undefined;
}

/** What the runner announces, by event name (listen with `runner.on(runner.events.X, ...)`). */
export interface RunnerEvents {
  /** A message's handler succeeded (after `attempts` tries); its offset is committed next. */
  handled: { topic: string; partition: number; offset: string; attempts: number };
  /** A message went to the dead-letter topic with `code`; its offset is committed next. */
  dead_lettered: { topic: string; partition: number; offset: string; code: string; attempts: number };
  /** The group committed `offset` on a partition: the next offset it reads, as Kafka stores it. */
  committed: { topic: string; partition: number; offset: string };
}

export const RUNNER_EVENTS = {
  HANDLED: 'handled',
  DEAD_LETTERED: 'dead_lettered',
  COMMITTED: 'committed',
} as const satisfies Record<string, keyof RunnerEvents>;

// A third of the shortest session timeout allowed (KAFKA_SESSION_TIMEOUT_MS >= 6 s, the broker's minimum).
const HEARTBEAT_EVERY_MS = 2000;

/**
 * The one consumer loop every service uses. It decodes and validates each message, calls its
 * handler, retries retriable failures with exponential backoff, dead-letters the rest, and commits
 * the offset only once the message is handled or dead-lettered, so a crash means redelivery, never
 * loss. Handlers must therefore be idempotent (they are: see each service's use cases).
 */
export class ConsumerRunner {
  private readonly consumer: Consumer;
  private readonly deadLetters: DeadLetterPublisher;
  private readonly byTopic: Map<string, EventHandler<unknown>>;
  /** Each topic's event under its real (prefixed) subject, so a decode error names the subject read. */
  private readonly readerOf: Map<string, EventDefinition<unknown>>;
  private readonly shutdown = new AbortController();
  private readonly processed: Counter<'topic' | 'outcome'>;
  private readonly deadLettered: Counter<'topic' | 'error_code'>;
  private readonly duration: Histogram<'topic'>;
  private readonly eventAge: Histogram<'topic'>;
  private readonly lag: Gauge<'topic' | 'partition'>;
  private running = false;
  private readonly opts: ConsumerRunnerOptions;
  private readonly instrumentation = new Instrumentation<RunnerEvents>();
  /** The names of the events `on` accepts, as kafkajs' `consumer.events`. */
  readonly events = RUNNER_EVENTS;

  constructor(opts: ConsumerRunnerOptions) {
    this.opts = opts;
    this.consumer = opts.kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeoutMs ?? 8000,
      heartbeatInterval: HEARTBEAT_EVERY_MS,
      maxWaitTimeInMs: opts.maxWaitTimeMs ?? 5000,
      allowAutoTopicCreation: false,
    });
    this.deadLetters = new DeadLetterPublisher(opts.producer, opts.service);
    this.readerOf = new Map(
      opts.handlers.map((h) => {
        const def = prefixEvent(h.event as EventDefinition<unknown>, opts.topicPrefix ?? '');
        return [def.topic, def];
      }),
    );
    this.byTopic = new Map(
      opts.handlers.map((h) => [`${opts.topicPrefix ?? ''}${h.event.topic}`, h as EventHandler<unknown>]),
    );
    const registers = [opts.metricsRegistry];
    this.processed = new Counter({
      name: 'consumer_messages_total',
      help: 'Messages handled, by outcome (success, dead_lettered)',
      labelNames: ['topic', 'outcome'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'dead_letters_total',
      help: 'Messages sent to the dead-letter topic, by error code',
      labelNames: ['topic', 'error_code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'consumer_handler_duration_seconds',
      help: 'Time from receipt to commit of a message, retries included',
      labelNames: ['topic'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
    });
    this.eventAge = new Histogram({
      name: 'consumer_event_age_seconds',
      help: 'Age of an event when this consumer first handles it (now - occurred_at): where a run waits',
      labelNames: ['topic'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
      registers,
    });
    this.lag = new Gauge({
      name: 'consumer_lag',
      help: 'Messages between the last one processed and the end of the partition (scale on this)',
      labelNames: ['topic', 'partition'],
      registers,
    });
  }

  get topics(): string[] {
    return [...this.byTopic.keys()];
  }

  get deadLetterTopic(): string {
    return `${this.opts.producer.topicPrefix}${this.deadLetters.topic}`;
  }

  get isRunning(): boolean {
    return this.running;
  }

  get groupId(): string {
    return this.opts.groupId;
  }

  /** Listens to what the runner did (handled, dead-lettered, committed); returns the remover. */
  on<K extends keyof RunnerEvents>(name: K, listener: (payload: RunnerEvents[K]) => void): RemoveListener {
    return this.instrumentation.on(name, listener);
  }

  async start(): Promise<void> {
    if (this.byTopic.size === 0) return;
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: this.opts.fromBeginning ?? true });
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      this.lag.set({ topic: payload.topic, partition: String(payload.partition) }, Number(payload.offsetLag));
    });
    this.consumer.on(this.consumer.events.COMMIT_OFFSETS, ({ payload }) => {
      for (const { topic, partitions } of payload.topics) {
        for (const { partition, offset } of partitions) {
          this.instrumentation.emit('committed', { topic, partition: Number(partition), offset });
        }
      }
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      this.opts.logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    });
    // kafkajs resolves an offset only after eachMessage returned, and with a threshold of 1 commits
    // it right away; a thrown eachMessage leaves it uncommitted. (Its explicit commitOffsets is a
    // no-op once stop() began, which would lose the commit of a message finished during shutdown.)
    await this.consumer.run({
      autoCommit: true,
      autoCommitThreshold: 1,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? 1,
      eachMessage: (payload) => this.onMessage(payload),
    });
    this.running = true;
  }

  /**
   * Stops fetching, lets the in-flight message finish within the grace period, then aborts it
   * (uncommitted, so it is redelivered to another replica) and leaves the group.
   */
  async stop(): Promise<void> {
    const timer = setTimeout(() => this.shutdown.abort(new Error('shutdown')), this.opts.shutdownGraceMs);
    try {
      await this.consumer.disconnect();
    } finally {
      clearTimeout(timer);
      this.running = false;
    }
  }

  private async onMessage(payload: EachMessagePayload): Promise<void> {
    const { topic, partition, message } = payload;
    const handler = this.byTopic.get(topic);
    if (!handler) throw new Error(`no handler for topic ${topic}`); // subscribe() makes this unreachable
    const started = process.hrtime.bigint();
    const headers = stringHeaders(message);
    const parent = extractTraceContext(message.headers ?? {});
    // kafkajs heartbeats only between messages: keep the group membership alive during long handlers.
    const beat = setInterval(() => void payload.heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
    try {
      await withSpan(
        `${topic} process`,
        {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'process',
          'messaging.destination.name': topic,
          'messaging.consumer.group.name': this.opts.groupId,
          'messaging.destination.partition.id': String(partition),
          'messaging.kafka.offset': Number(message.offset),
          'messaging.message.id': headers['event-id'],
        },
        async (span) => {
          const runId = span.spanContext().traceId;
          const lineage = this.opts.lineage?.start(
            `${this.opts.service}.${handler.event.name}`,
            [topic],
            runId,
          );
          try {
            // Tasks the handler runs report to OpenLineage as parts of this message's run.
            const scope = lineage &&
              this.opts.lineage && {
                emitter: this.opts.lineage,
                service: this.opts.service,
                parent: lineage,
              };
            const deadLettered = await withLineageScope(scope, () =>
              withLogFields({ dag_run_id: runId, task_id: handler.task ?? handler.event.name }, () =>
                this.handleWithRetries(handler, { topic, partition, message, headers, runId }),
              ),
            );
            if (lineage && deadLettered) this.opts.lineage?.fail(lineage, deadLettered);
            else if (lineage) this.opts.lineage?.complete(lineage);
          } catch (err) {
            if (lineage)
              this.opts.lineage?.fail(lineage, err instanceof Error ? err : new Error(String(err)));
            throw err;
          }
        },
        { parent, kind: SpanKind.CONSUMER },
      );
    } finally {
      clearInterval(beat);
      this.duration.observe({ topic }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** Handles one message with retries; returns the error when it ended dead-lettered. */
  private async handleWithRetries(
    handler: EventHandler<unknown>,
    m: {
      topic: string;
      partition: number;
      message: KafkaMessage;
      headers: Record<string, string>;
      runId: string;
    },
  ): Promise<AppError | undefined> {
    const log = this.opts.logger.child({ topic: m.topic, partition: m.partition, offset: m.message.offset });
    const { retry } = this.opts;
    let attempts = 0;
    let firstFailedAt = 0;
    // The event, once decoded, and the run fields its handler reads from it (also on the runner's lines).
    let decoded: unknown;
    let fields: RunFields = {};
    try {
      await pRetry(
        async (attempt) => {
          attempts = attempt;
          if (!m.message.value) {
            throw new AppError('EVT_ERR_EMPTY', 'message has no value (tombstone)');
          }
          const value = await this.opts.registry.decode(
            this.readerOf.get(m.topic) ?? handler.event,
            m.message.value,
          );
          decoded = value;
          fields = handler.runFields?.(value) ?? {};
          const occurredAt = (value as { occurred_at?: unknown }).occurred_at;
          if (attempt === 1 && typeof occurredAt === 'number') {
            this.eventAge.observe({ topic: m.topic }, Math.max(0, Date.now() - occurredAt) / 1000);
          }
          await withLogFields(fields, () =>
            handler.handle(value, {
              topic: m.topic,
              partition: m.partition,
              offset: m.message.offset,
              key: m.message.key?.toString() ?? null,
              headers: m.headers,
              runId: m.runId,
              attempt,
              signal: this.shutdown.signal,
              log,
            }),
          );
        },
        {
          retries: retry.maxRetries,
          factor: 2,
          minTimeout: retry.baseMs,
          maxTimeout: retry.maxMs,
          randomize: true,
          signal: this.shutdown.signal,
          shouldRetry: ({ error }) => !this.shutdown.signal.aborted && toAppError(error).retriable,
          onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
            firstFailedAt ||= Date.now();
            const appError = toAppError(error);
            log.warn(
              { ...fields, err: error, code: appError.code, attempt: attemptNumber, retriesLeft },
              'handler failed',
            );
          },
        },
      );
      this.processed.inc({ topic: m.topic, outcome: 'success' });
      this.instrumentation.emit('handled', {
        topic: m.topic,
        partition: m.partition,
        offset: m.message.offset,
        attempts,
      });
      return undefined;
    } catch (err) {
      if (this.shutdown.signal.aborted) {
        // Not committed: the message goes back to the group and another replica takes it.
        throw new AbortError('shutting down: message handed back uncommitted');
      }
      const error = toAppError(err);
      trace.getActiveSpan()?.setAttribute('tributary.dead_lettered', true);
      log.error({ ...fields, err, code: error.code, attempts }, 'message dead-lettered');
      await this.deadLetterUntilSent({
        service: this.opts.service,
        groupId: this.opts.groupId,
        topic: m.topic,
        partition: m.partition,
        message: m.message,
        error,
        attempts,
        firstFailedAt: firstFailedAt || Date.now(),
        runId: m.runId,
      });
      this.deadLettered.inc({ topic: m.topic, error_code: error.code });
      this.processed.inc({ topic: m.topic, outcome: 'dead_lettered' });
      this.instrumentation.emit('dead_lettered', {
        topic: m.topic,
        partition: m.partition,
        offset: m.message.offset,
        code: error.code,
        attempts,
      });
      try {
        handler.onDeadLettered?.(error, decoded);
      } catch (hookErr) {
        log.error({ ...fields, err: hookErr }, 'dead-letter hook failed');
      }
      return error;
    }
  }

  /** The dead-letter write itself is retried until it succeeds or the service stops: nothing is dropped. */
  private async deadLetterUntilSent(input: Parameters<DeadLetterPublisher['publish']>[0]): Promise<void> {
    await pRetry(() => this.deadLetters.publish(input), {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: this.opts.retry.baseMs,
      maxTimeout: this.opts.retry.maxMs,
      signal: this.shutdown.signal,
      onFailedAttempt: ({ error }) =>
        this.opts.logger.error({ err: error }, 'dead-letter publish failed; retrying'),
    });
  }
}

function stringHeaders(message: KafkaMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(message.headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[key] = first.toString();
  }
  return out;
}
