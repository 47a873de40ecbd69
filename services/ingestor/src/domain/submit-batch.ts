import { AppError } from '@tributary/errors';
import { eventTime, newEventId, type BatchReady, type BatchSource } from '@tributary/events';
import { IngestErrorCode, contentHashOf, declarationProblems, roleOf, summarise } from './batch.ts';
import type { BatchRepository, SubmittedFile } from './ports.ts';

export interface SubmitInput {
  dataset: string;
  batchId: string;
  producer: string;
  source: BatchSource;
  contract: { name: string; version: string };
  files: readonly SubmittedFile[];
  attributes?: Record<string, string>;
}

export interface Submitted {
  batchId: string;
  dataset: string;
  contentHash: string;
  runId: string;
  eventId: string;
}

/**
 * Announces a batch taken in by the ingestor itself (HTTP upload, landing zone): records the
 * submission and queues its batch.ready in one transaction. The ingest then runs through the
 * same batch.ready handler as a Kafka producer's batch, so there is one ingest path.
 * A declaration that can never be ingested (bad ids or paths) is refused here, synchronously.
 */
export async function submitBatch(
  deps: { batches: BatchRepository; now?: () => Date },
  input: SubmitInput,
  runId: string,
): Promise<Submitted> {
  const files = input.files.map((f) => ({
    path: f.path,
    uri: f.uri,
    role: f.role ?? roleOf(f.path),
    sha256: f.sha256.toLowerCase(),
    size_bytes: f.size,
    schema_version: f.schemaVersion ?? null,
  }));
  const problems = declarationProblems({ dataset: input.dataset, batchId: input.batchId, files });
  if (problems.length > 0) {
    throw new AppError(IngestErrorCode.INVALID_BATCH, summarise(problems), {
      retriable: false,
      details: { problems },
    });
  }
  const contentHash = contentHashOf(files);
  const event: BatchReady = {
    event_id: newEventId(),
    occurred_at: eventTime(deps.now?.() ?? new Date()),
    run_id: runId,
    dataset: input.dataset,
    batch_id: input.batchId,
    producer: input.producer,
    source: input.source,
    contract: input.contract,
    files,
    attributes: input.attributes ?? {},
  };
  await deps.batches.recordSubmission(
    {
      batchId: input.batchId,
      dataset: input.dataset,
      producer: input.producer,
      source: input.source,
      contract: input.contract,
      contentHash,
      runId,
    },
    event,
  );
  return { batchId: input.batchId, dataset: input.dataset, contentHash, runId, eventId: event.event_id };
}
