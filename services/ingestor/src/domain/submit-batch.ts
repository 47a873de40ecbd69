import { batchContentHash } from '@tributary/events/content-hash';
import { AppError } from '@tributary/errors';
import { eventTime, newEventId, type BatchReady, type BatchSource } from '@tributary/events';
import { IngestErrorCode, declarationProblems, rejectionStands, roleOf, summarise } from './batch.ts';
import type { BatchRepository, EarlierDecision, SubmittedFile } from './ports.ts';

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
  /**
   * The decision already made on this content under this batch id: it stands (the submission is
   * acknowledged with it), or not (a rejection caused outside the batch: processed again).
   */
  earlier?: EarlierDecision;
}

/** What a producer submitting the same content again is told about the earlier decision. */
export function describeEarlier(batchId: string, e: EarlierDecision): string {
  const when = e.decidedAt ?? 'an earlier submission';
  if (e.status === 'INGESTED') {
    return `batch ${batchId} with this content was already ingested at ${when}: this is that earlier decision (a batch is ingested once)`;
  }
  const why = `${e.errorCode ?? 'rejected'}: ${e.reason ?? ''}`;
  if (e.stands) {
    return (
      `batch ${batchId} with this content was rejected at ${when} (${why}); this is that earlier decision, and it stands: ` +
      'the batch itself caused it, so the same content under this id gets the same answer. Fix the files and submit them ' +
      'again (the CLI’s default batch id follows the content), or submit under a new batch id'
    );
  }
  return (
    `batch ${batchId} with this content was rejected at ${when} (${why}) for a cause outside the batch ` +
    '(the catalog or where its files were read from); it is processed again now'
  );
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
    role: f.role ?? roleOf(f.path, f.head),
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
  const contentHash = batchContentHash(files);
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
  const earlier = await deps.batches.recordSubmission(
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
    rejectionStands,
  );
  return {
    batchId: input.batchId,
    dataset: input.dataset,
    contentHash,
    runId,
    eventId: event.event_id,
    ...(earlier === undefined ? {} : { earlier }),
  };
}
