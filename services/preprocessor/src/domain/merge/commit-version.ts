import { masterVersionKey, masterVersionName, renderDvcFile } from '@tributary/dvc';
import type { BatchRejected, MasterVersioned } from '@tributary/events';
import type { MergeDeps, MergeInput } from '../merge-batch.ts';
import type { Announcements, MasterFile, MasterState, MergeCommit } from '../ports.ts';
import { schemaFingerprint, type VersionPlan } from './plan-version.ts';
import type { VersionDirectory } from './write-objects.ts';

/** What the commit writes: the version's rows in Postgres and the events the outbox publishes. */
export interface VersionCommit {
  commit: MergeCommit;
  events: Announcements;
}

/**
 * The commit of the planned version: its manifest rows (files added and removed), its `.dvc` file,
 * master.versioned, and batch.rejected for the rows quarantined. Fenced on the current version.
 */
export function describeCommit(
  deps: Pick<MergeDeps, 'store' | 'newEventId' | 'now'>,
  state: MasterState,
  plan: VersionPlan,
  dir: VersionDirectory,
  input: MergeInput,
): VersionCommit {
  const { event, contract } = input;
  const dataset = event.dataset;
  const { version, parts, newParts, images, rowsUpdated } = plan;
  const rowCount = [...parts.values()].reduce((a, p) => a + p.rows, 0);
  // `<dataset>-v<N>`: versions of several datasets check out side by side in one DVC repository.
  const keyPrefix = masterVersionKey(dataset, version);
  const dvcFileKey = `${keyPrefix}.dvc`;
  const dvcFileText = renderDvcFile({
    path: masterVersionName(dataset, version),
    md5: dir.md5,
    size: dir.size,
    nfiles: dir.nfiles,
  });
  const location = deps.store.uriOf(keyPrefix);
  const dvcFile = deps.store.uriOf(dvcFileKey);
  const rowsAdded = input.part.rows - rowsUpdated;

  const removedRelpaths = [
    ...state.files.filter((f) => f.kind === 'part' && !parts.has(f.partNo!)).map((f) => f.relpath),
    ...images.removed,
  ].sort();
  const addedFiles: MasterFile[] = [
    ...newParts.map((p): MasterFile => ({
      relpath: p.relpath,
      kind: 'part',
      md5: p.md5,
      size: p.size,
      rowCount: p.rows,
      partNo: p.partNo,
      keyMin: p.keyMin,
      keyMax: p.keyMax,
    })),
    ...images.added.map((i): MasterFile => ({
      relpath: i.relpath,
      md5: i.md5,
      size: i.size,
      kind: 'image',
      rowCount: null,
      partNo: null,
      keyMin: null,
      keyMax: null,
    })),
  ];

  const occurredAt = deps.now().getTime();
  const masterVersioned: MasterVersioned = {
    event_id: deps.newEventId(),
    occurred_at: occurredAt,
    run_id: input.runId,
    dataset,
    master_version: version,
    previous_version: state.version === 0 ? null : state.version,
    row_count: rowCount,
    rows_added: rowsAdded,
    rows_updated: rowsUpdated,
    rows_rejected: input.rowsRejected,
    checksum: dir.md5,
    location,
    dvc_file: dvcFile,
    batch_ids: [event.batch_id],
    raw_checksums: { [event.batch_id]: event.raw_md5 },
    contract: { name: contract.name, version: contract.version },
    rejection_report_uri: input.reportUri,
    // The run's start travels on, for the end-to-end latency to master.versioned and retrain.requested.
    ready_at: event.ready_at,
    unreferenced_files: input.unreferencedFiles,
  };
  const batchRejected: BatchRejected | undefined =
    input.rowsRejected > 0
      ? {
          event_id: deps.newEventId(),
          occurred_at: occurredAt,
          run_id: input.runId,
          dataset,
          batch_id: event.batch_id,
          producer: event.producer,
          stage: 'VALIDATE',
          error_code: 'PRE_ERR_ROWS_QUARANTINED',
          reason: `${input.rowsRejected} of ${input.rowsRejected + input.part.rows} rows break contract ${contract.name}@${contract.version}; the other rows merged into v${version}`,
          report_uri: input.reportUri,
          rejected_rows: input.rowsRejected,
          partial: true,
        }
      : undefined;

  const commit: MergeCommit = {
    dataset,
    expectedVersion: state.version,
    version,
    nextPart: plan.nextPart,
    schemaFingerprint: schemaFingerprint(contract),
    checksum: dir.md5,
    rowCount,
    rowsAdded,
    rowsUpdated,
    rowsRejected: input.rowsRejected,
    batchId: event.batch_id,
    runId: input.runId,
    contentHash: event.content_hash,
    rawChecksums: { [event.batch_id]: event.raw_md5 },
    contract: { name: contract.name, version: contract.version },
    location,
    dvcFile,
    dvcFileKey,
    dvcFileText,
    reportUri: input.reportUri,
    mergeStartedAt: input.mergeStartedAt,
    addedFiles,
    removedRelpaths,
    imageRefs: images.update,
    partsWritten: newParts.length,
  };
  return { commit, events: batchRejected ? { masterVersioned, batchRejected } : { masterVersioned } };
}

/** Commits the version (fenced) with its events; its `.dvc` file is written inside the transaction. */
export async function commitVersion(
  deps: Pick<MergeDeps, 'repo' | 'store'>,
  { commit, events }: VersionCommit,
): Promise<void> {
  await deps.repo.commitMerge(commit, events, async () => {
    // After the fence: only the committer of version N ever writes its .dvc.
    await deps.store.put(commit.dvcFileKey, commit.dvcFileText);
  });
}

/** Deletes the parts crashed attempts uploaded that no version lists, once past the grace period. */
export async function removeOrphans(
  deps: Pick<MergeDeps, 'repo' | 'store' | 'orphanGraceMs'>,
  dataset: string,
): Promise<void> {
  const orphans = await deps.repo.orphans(dataset, deps.orphanGraceMs);
  if (orphans.length > 0) {
    await deps.store.deleteDvcObjects(orphans);
    await deps.repo.forgetIntents(dataset, orphans);
  }
}
