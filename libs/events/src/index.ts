export * from './generated/types.ts';
export { defineEvent, prefixEvent, type EventDefinition } from './define.ts';
export {
  allEvents,
  batchIngested,
  batchReady,
  batchRejected,
  datasetPublished,
  deadLetterEvent,
  deadLetterTopic,
  masterVersioned,
  qualityEvaluated,
  retrainRequested,
} from './catalog.ts';
export {
  EventRegistry,
  classifyRegistryError,
  type Compatibility,
  type EventRegistryOptions,
} from './registry.ts';
export { newEventId, eventTime } from './envelope.ts';
