import type {
  BatchIngested,
  BatchReady,
  BatchRejected,
  DatasetPublished,
  DeadLetter,
  MasterVersioned,
  QualityEvaluated,
  RetrainRequested,
} from './generated/types.ts';
import { defineEvent, type EventDefinition } from './define.ts';

const byDataset = (e: { dataset: string }) => e.dataset;
const schemaOf = (folder: string) => new URL(`./${folder}/schema.avsc`, import.meta.url);

export const batchReady = defineEvent<BatchReady>('batch.ready', schemaOf('batch-ready'), byDataset);
export const batchIngested = defineEvent<BatchIngested>(
  'batch.ingested',
  schemaOf('batch-ingested'),
  byDataset,
);
export const batchRejected = defineEvent<BatchRejected>(
  'batch.rejected',
  schemaOf('batch-rejected'),
  byDataset,
);
export const masterVersioned = defineEvent<MasterVersioned>(
  'master.versioned',
  schemaOf('master-versioned'),
  byDataset,
);
export const qualityEvaluated = defineEvent<QualityEvaluated>(
  'quality.evaluated',
  schemaOf('quality-evaluated'),
  byDataset,
);
export const datasetPublished = defineEvent<DatasetPublished>(
  'dataset.published',
  schemaOf('dataset-published'),
  byDataset,
);
export const retrainRequested = defineEvent<RetrainRequested>(
  'retrain.requested',
  schemaOf('retrain-requested'),
  byDataset,
);

/** Dead-letter topic of one consuming service: one per consumer, as the architecture asks. */
export function deadLetterTopic(service: string): string {
  return `dlq.${service}`;
}

/** The dead-letter envelope for one service's topic; keyed like the message it wraps. */
export function deadLetterEvent(service: string): EventDefinition<DeadLetter> {
  return defineEvent<DeadLetter>(
    'dead.letter',
    schemaOf('dead-letter'),
    (e) => e.key?.toString() ?? e.source_topic,
    deadLetterTopic(service),
  );
}

/** Every business event of the platform (dead-letter topics are per service, see deadLetterEvent). */
export const allEvents: readonly EventDefinition<unknown>[] = [
  batchReady,
  batchIngested,
  batchRejected,
  masterVersioned,
  qualityEvaluated,
  datasetPublished,
  retrainRequested,
] as EventDefinition<unknown>[];
