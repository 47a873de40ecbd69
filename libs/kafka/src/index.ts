export { createKafka, type KafkaClientOptions } from './client.ts';
export { ensureTopics, type TopicSpec } from './topics.ts';
export { EventProducer, type OutgoingMessage, type PublishOptions } from './producer.ts';
export {
  ConsumerRunner,
  RUNNER_EVENTS,
  type ConsumerRunnerOptions,
  type RetryPolicy,
  type RunnerEvents,
} from './runner.ts';
export { DeadLetterPublisher } from './dead-letter.ts';
export { defineHandler, type EventHandler, type MessageContext } from './handler.ts';
export type { Kafka, Admin } from 'kafkajs';
export { readTopic, type ReadTopicOptions, type TopicRecord } from './read-topic.ts';
export {
  deadLetterServices,
  listDeadLetters,
  parseDlqOffset,
  replayDeadLetters,
  REPLAY_EVENT_ID_HEADER,
  REPLAY_OF_HEADER,
  type DeadLetterConnection,
  type DeadLetterView,
  type ReplayDeadLettersOptions,
  type ReplayMarker,
  type ReplayResult,
} from './dead-letters.ts';
