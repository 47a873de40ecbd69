/** A batch of the live list, as the ingestor's admin list gives it (only its id is looked at here). */
export interface ListedBatch {
  batch_id: string;
  [field: string]: unknown;
}

/**
 * The batches of `next` that are new or changed since `previous` (compared as JSON), newest first,
 * and the snapshot to compare the next poll with.
 */
export function batchChanges(
  previous: ReadonlyMap<string, string>,
  next: readonly ListedBatch[],
): { changed: ListedBatch[]; snapshot: Map<string, string> } {
  const snapshot = new Map<string, string>();
  const changed: ListedBatch[] = [];
  for (const batch of next) {
    const json = JSON.stringify(batch);
    snapshot.set(batch.batch_id, json);
    if (previous.get(batch.batch_id) !== json) changed.push(batch);
  }
  return { changed, snapshot };
}
