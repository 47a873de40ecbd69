import { SpanKind, context } from '@opentelemetry/api';
import { Partitioners, type IHeaders, type Kafka, type Producer } from 'kafkajs';
import { prefixEvent, type EventDefinition, type EventRegistry } from '@tributary/events';
import { injectTraceHeaders, withSpan } from '@tributary/telemetry';

export interface PublishOptions {
  headers?: Record<string, string | Buffer>;
  /** Overrides the event's own key (the dataset). */
  key?: string;
}

export interface OutgoingMessage<T> {
  value: T;
  options?: PublishOptions;
}

/**
 * Publishes registry-encoded events with the idempotent producer (no duplicates from the
 * producer's own retries) and W3C trace context in the headers, so a run stays one trace.
 */
export class EventProducer {
  private readonly producer: Producer;
  private readonly registry: EventRegistry;
  /** Namespace of every topic this producer writes (see prefixEvent). */
  readonly topicPrefix: string;

  constructor(kafka: Kafka, registry: EventRegistry, topicPrefix = '') {
    this.registry = registry;
    this.topicPrefix = topicPrefix;
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // Named so kafkajs does not warn at each start; the Java client's murmur2, so keys land alike.
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  /** Publishes one event and resolves once the broker acknowledged it on all in-sync replicas. */
  async publish<T>(def: EventDefinition<T>, value: T, options: PublishOptions = {}): Promise<void> {
    await this.publishMany(def, [{ value, options }]);
  }

  /** Publishes several events of one type in one request (kafkajs does not batch across sends). */
  async publishMany<T>(base: EventDefinition<T>, messages: OutgoingMessage<T>[]): Promise<void> {
    if (messages.length === 0) return;
    const def = prefixEvent(base, this.topicPrefix);
    await withSpan(
      `${def.topic} publish`,
      {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.destination.name': def.topic,
        'messaging.batch.message_count': messages.length,
      },
      async () => {
        const encoded = await Promise.all(
          messages.map(async ({ value, options = {} }) => ({
            key: options.key ?? def.key(value),
            value: await this.registry.encode(def, value),
            headers: this.headersFor(def, value, options.headers),
          })),
        );
        await this.producer.send({ topic: def.topic, acks: -1, messages: encoded });
      },
      { kind: SpanKind.PRODUCER },
    );
  }

  /** Sends already-encoded bytes to an already-resolved topic (the outbox relay uses it). */
  async sendRaw(
    topic: string,
    messages: { key: string | Buffer | null; value: Buffer; headers?: IHeaders }[],
  ): Promise<void> {
    await this.producer.send({ topic, acks: -1, messages });
  }

  private headersFor<T>(
    def: EventDefinition<T>,
    value: T,
    extra: Record<string, string | Buffer> = {},
  ): IHeaders {
    const eventId = (value as { event_id?: unknown }).event_id;
    return {
      ...injectTraceHeaders(context.active()),
      'event-name': def.name,
      ...(typeof eventId === 'string' ? { 'event-id': eventId } : {}),
      ...extra,
    };
  }
}
