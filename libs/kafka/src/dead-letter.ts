import type { KafkaMessage } from 'kafkajs';
import { deadLetterEvent, newEventId, type DeadLetter, type EventDefinition } from '@tributary/events';
import type { AppError } from '@tributary/errors';
import type { EventProducer } from './producer.ts';

export interface DeadLetterInput {
  service: string;
  groupId: string;
  topic: string;
  partition: number;
  message: KafkaMessage;
  error: AppError;
  attempts: number;
  firstFailedAt: number;
  runId: string | undefined;
}

/**
 * Sends a message a consumer gave up on to the service's dead-letter topic: the original key,
 * bytes and headers, plus the error. Original headers are kept on the Kafka record too, so the
 * trace continues and the record can be replayed as is.
 */
export class DeadLetterPublisher {
  private readonly def: EventDefinition<DeadLetter>;
  private readonly producer: EventProducer;

  constructor(producer: EventProducer, service: string) {
    this.producer = producer;
    this.def = deadLetterEvent(service);
  }

  get topic(): string {
    return this.def.topic;
  }

  async publish(input: DeadLetterInput): Promise<void> {
    const { message, error } = input;
    const headers = Object.entries(message.headers ?? {}).flatMap(([key, value]) =>
      (Array.isArray(value) ? value : [value]).map((v) => ({
        key,
        value: v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v),
      })),
    );
    const letter: DeadLetter = {
      event_id: newEventId(),
      occurred_at: Date.now(),
      run_id: input.runId ?? null,
      service: input.service,
      consumer_group: input.groupId,
      source_topic: input.topic,
      source_partition: input.partition,
      source_offset: Number(message.offset),
      key: message.key ?? null,
      value: message.value ?? null,
      headers,
      error_code: error.code,
      error_message: error.message,
      retriable: error.retriable,
      attempts: input.attempts,
      first_failed_at: input.firstFailedAt,
    };
    await this.producer.publish(this.def, letter, {
      key: message.key?.toString() ?? input.topic,
      headers: {
        'dlq-error-code': error.code,
        'dlq-error-message': error.message.slice(0, 1000),
        'dlq-source-topic': input.topic,
        'dlq-source-partition': String(input.partition),
        'dlq-source-offset': message.offset,
      },
    });
  }
}
