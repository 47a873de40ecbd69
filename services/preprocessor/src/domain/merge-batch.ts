import path from 'node:path';
import { buildDirObject, masterVersionKey, masterVersionName, renderDvcFile } from '@tributary/dvc';
import { AppError } from '@tributary/errors';
import type { DataContract } from '@tributary/contracts';
import type { BatchIngested, BatchRejected, MasterVersioned } from '@tributary/events';
import { planCompaction, type CompactionPolicy } from './compaction.ts';
import type {
  DataStore,
  ImageRefsUpdate,
  MasterFile,
  MasterRepository,
  MasterState,
  MergeCommit,
  TableSession,
} from './ports.ts';
import type { CanonicalImage } from './validate-batch.ts';

export interface MergeDeps {
  store: DataStore;
  repo: MasterRepository;
  compaction: CompactionPolicy;
  orphanGraceMs: number;
  hashFile: (file: string) => Promise<{ md5: string; size: number }>;
  /** The one place test-only fault injection hooks into (FAULT_INJECT). */
  faultPoint: (point: 'crash-before-commit' | 'crash-after-commit') => void;
  newEventId: () => string;
  now: () => Date;
}

export interface MergeInput {
  event: BatchIngested;
  contract: DataContract;
  runId: string;
  part: { localPath: string; rows: number; keyMin: string | null; keyMax: string | null };
  images: CanonicalImage[];
  rowsRejected: number;
  reportUri: string | null;
  workDir: string;
  mergeStartedAt: Date;
  signal: AbortSignal;
}

export type MergeResult =
  | { kind: 'merged'; version: number; event: MasterVersioned }
  | { kind: 'already-merged'; contentHash: string }
  | { kind: 'schema-changed'; reason: string };

interface WorkingPart {
  partNo: number;
  relpath: string;
  rows: number;
  md5: string;
  size: number;
  keyMin: string | null;
  keyMax: string | null;
  /** Local bytes, once known (new parts always, old ones when downloaded). */
  local?: string;
  isNew: boolean;
}

export const partRelpath = (partNo: number) => `parts/part-${String(partNo).padStart(8, '0')}.parquet`;

/** Columns, types and key of a master: a batch whose contract changes them cannot merge into it. */
export function schemaFingerprint(contract: DataContract): string {
  return JSON.stringify({
    key: contract.primary_key,
    columns: contract.columns.map((c) => [c.name, c.type]),
  });
}

/**
 * Merges a validated batch into the master. Runs under the master lock; the commit is fenced on
 * the version read here. Cost follows the batch: one new part, plus a rewrite of the parts holding
 * keys the batch replaces, plus at most one bounded compaction step; unchanged parts are only
 * listed again in the new version's manifest.
 */
export async function mergeBatch(
  deps: MergeDeps,
  session: TableSession,
  input: MergeInput,
): Promise<MergeResult> {
  const { event, contract } = input;
  const dataset = event.dataset;
  const pk = contract.primary_key;
  // Another replica may have merged this batch while we validated it (a redelivery after a crash).
  const done = await deps.repo.batchRecord(event.batch_id);
  if (done?.outcome === 'merged') return { kind: 'already-merged', contentHash: done.contentHash };

  const state = await deps.repo.state(dataset);
  const fingerprint = schemaFingerprint(contract);
  if (state.schemaFingerprint !== null && state.schemaFingerprint !== fingerprint) {
    return {
      kind: 'schema-changed',
      reason: `contract ${contract.name}@${contract.version} changes the columns or key of master ${dataset}`,
    };
  }
  const version = state.version + 1;
  let nextPart = state.nextPart;

  const parts = new Map<number, WorkingPart>();
  for (const f of state.files) {
    if (f.kind === 'part') {
      parts.set(f.partNo!, {
        partNo: f.partNo!,
        relpath: f.relpath,
        rows: f.rowCount!,
        md5: f.md5,
        size: f.size,
        keyMin: f.keyMin,
        keyMax: f.keyMax,
        isNew: false,
      });
    }
  }

  /** A part this merge wrote to `local`: numbered, named after its number and hashed. */
  const writtenPart = async (
    partNo: number,
    local: string,
    stats: Pick<WorkingPart, 'rows' | 'keyMin' | 'keyMax'>,
  ): Promise<WorkingPart> => ({
    partNo,
    relpath: partRelpath(partNo),
    ...stats,
    ...(await deps.hashFile(local)),
    local,
    isNew: true,
  });

  const batchPartNo = nextPart++;
  const { rows, keyMin, keyMax, localPath } = input.part;
  const batchPart = await writtenPart(batchPartNo, localPath, { rows, keyMin, keyMax });
  const fresh = (localName: string) => path.join(input.workDir, localName);

  // Newest batch wins: rows of older parts whose key the batch carries are dropped from them.
  // The zone maps (leading key min/max per part, in Postgres) name the parts that may hold a batch
  // key without reading any part; DuckDB then checks those parts' key columns exactly.
  const zones = [...parts.values()]
    .filter((p) => p.keyMin !== null && p.keyMax !== null)
    .map((p) => ({ partNo: p.partNo, keyMin: p.keyMin!, keyMax: p.keyMax! }));
  const leadingKey = contract.columns.find((c) => c.name === pk[0])!;
  const candidates = await session.candidateParts(input.part.localPath, zones, leadingKey);
  // Image references change by the batch's rows minus the rows they replace (see imageChanges).
  const imageColumn = contract.image_column;
  const countRefs = imageColumn !== undefined && state.imageRefsReady;
  const refDelta = new Map<string, number>();
  const addRefs = (counts: ReadonlyMap<string, number>, sign: 1 | -1) => {
    for (const [relpath, n] of counts) refDelta.set(relpath, (refDelta.get(relpath) ?? 0) + sign * n);
  };
  let rowsUpdated = 0;
  for (const partNo of candidates) {
    const old = parts.get(partNo)!;
    const source = await deps.store.localDvcObject(old.md5, input.workDir);
    const matches = await session.countMatches(source, input.part.localPath, pk);
    if (matches === 0) continue;
    rowsUpdated += matches;
    if (countRefs) {
      addRefs(await session.replacedImageCounts(source, input.part.localPath, pk, imageColumn), -1);
    }
    const out = fresh(`rewrite-${partNo}.parquet`);
    const stats = await session.rewritePart(source, input.part.localPath, pk, out);
    parts.delete(partNo);
    if (stats.rows > 0) {
      const target = nextPart++;
      parts.set(target, await writtenPart(target, out, stats));
    }
  }
  parts.set(batchPartNo, batchPart);

  const group = planCompaction([...parts.values()], deps.compaction);
  if (group.length > 0) {
    const sources: string[] = [];
    for (const partNo of group) {
      const p = parts.get(partNo)!;
      p.local ??= await deps.store.localDvcObject(p.md5, input.workDir);
      sources.push(p.local);
    }
    const target = nextPart++;
    const out = fresh(`compact-${target}.parquet`);
    const compacted = await writtenPart(target, out, await session.mergeParts(sources, pk, out));
    for (const partNo of group) parts.delete(partNo);
    parts.set(target, compacted);
  }
  if (countRefs) addRefs(await session.imageCounts([input.part.localPath], imageColumn), 1);
  if (imageColumn !== undefined && !state.imageRefsReady) {
    // A master from before the counts existed: count the references of every part, once.
    for (const p of parts.values()) p.local ??= await deps.store.localDvcObject(p.md5, input.workDir);
    const all = [...parts.values()].sort((a, b) => a.partNo - b.partNo).map((p) => p.local!);
    addRefs(await session.imageCounts(all, imageColumn), 1);
  }
  const images: ImageChanges =
    imageColumn === undefined
      ? { kept: state.files.filter((f) => f.kind === 'image'), added: [], removed: [], update: null }
      : await imageChanges(deps.repo, state, input, refDelta);
  if (input.signal.aborted) throw lockLost(dataset);

  // New parts become DVC objects before the commit; the intent log lets a crashed attempt's
  // unreferenced parts be found and deleted later (a retry writes the same bytes and reuses them).
  const newParts = [...parts.values()].filter((p) => p.isNew).sort((a, b) => a.partNo - b.partNo);
  await deps.repo.recordIntent(
    dataset,
    event.batch_id,
    newParts.map((p) => p.md5),
  );
  for (const p of newParts) await deps.store.putDvcObject(p.md5, p.local!);

  const newImages = images.added;
  const entries = [
    ...[...parts.values()].map((p) => ({ relpath: p.relpath, md5: p.md5, size: p.size })),
    ...images.kept.map((f) => ({ relpath: f.relpath, md5: f.md5, size: f.size })),
    ...newImages.map((i) => ({ relpath: i.relpath, md5: i.md5, size: i.size })),
  ];
  const dir = buildDirObject(entries);
  await deps.store.putDvcObject(dir.md5, Buffer.from(dir.json, 'ascii'));

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
    ...newImages.map((i): MasterFile => ({
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
    nextPart,
    schemaFingerprint: fingerprint,
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

  deps.faultPoint('crash-before-commit');
  if (input.signal.aborted) throw lockLost(dataset);
  await deps.repo.commitMerge(
    commit,
    batchRejected ? { masterVersioned, batchRejected } : { masterVersioned },
    async () => {
      // Inside the transaction, after the fence: only the committer of version N ever writes its .dvc.
      await deps.store.put(dvcFileKey, dvcFileText);
    },
  );
  deps.faultPoint('crash-after-commit');

  const orphans = await deps.repo.orphans(dataset, deps.orphanGraceMs);
  if (orphans.length > 0) {
    await deps.store.deleteDvcObjects(orphans);
    await deps.repo.forgetIntents(dataset, orphans);
  }
  return { kind: 'merged', version, event: masterVersioned };
}

interface ImageChanges {
  /** Images of the current version the new one keeps. */
  kept: MasterFile[];
  /** Images the new version adds (the batch's canonical images no current row linked to). */
  added: CanonicalImage[];
  /** Relpaths of images no row of the new version links to any more. */
  removed: string[];
  update: ImageRefsUpdate | null;
}

/**
 * Which images the new version lists: those some row of it links to. `delta` is the change in
 * reference counts (rows linking to each image) that the merge makes: + the batch's rows, - the
 * rows they replace; or, for a master whose counts do not exist yet, the complete counts of the
 * new version. Only the counts of those images are read: the cost follows the batch.
 */
async function imageChanges(
  repo: MasterRepository,
  state: MasterState,
  input: MergeInput,
  delta: ReadonlyMap<string, number>,
): Promise<ImageChanges> {
  const dataset = input.event.dataset;
  const current = state.files.filter((f) => f.kind === 'image');
  const changed = [...delta].filter(([, n]) => n !== 0 || !state.imageRefsReady).map(([r]) => r);
  const before = state.imageRefsReady ? await repo.imageRefs(dataset, changed) : new Map<string, number>();
  const after = new Map<string, number>();
  // Never below zero: rows merged before the contract named an image column were never counted.
  for (const r of changed) after.set(r, Math.max(0, (before.get(r) ?? 0) + delta.get(r)!));
  const linked = (relpath: string) => after.get(relpath) ?? (state.imageRefsReady ? 1 : 0);
  const kept = current.filter((f) => linked(f.relpath) > 0);
  const removed = current.filter((f) => linked(f.relpath) === 0).map((f) => f.relpath);
  const known = new Set(current.map((f) => f.relpath));
  const offered = new Map(input.images.map((i) => [i.relpath, i]));
  const added: CanonicalImage[] = [];
  for (const relpath of [...after.keys()].sort()) {
    if (after.get(relpath)! === 0 || known.has(relpath)) continue;
    const image = offered.get(relpath);
    if (!image) {
      throw new AppError(
        'PRE_ERR_IMAGE_UNKNOWN',
        `master ${dataset}: a row links to ${relpath}, which is neither in the master nor in batch ${input.event.batch_id}`,
      );
    }
    added.push(image);
  }
  const refs = [...after]
    .map(([relpath, n]) => ({ relpath, refs: n }))
    .sort((a, b) => (a.relpath < b.relpath ? -1 : 1));
  return { kept, added, removed, update: { reset: !state.imageRefsReady, refs } };
}

function lockLost(dataset: string): AppError {
  return new AppError('PRE_ERR_LOCK_LOST', `lost the master lock of ${dataset} before committing`);
}
