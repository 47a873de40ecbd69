import path from 'node:path';
import type { DataContract } from '@tributary/contracts';
import { planCompaction } from '../compaction.ts';
import type { MergeDeps, MergeInput } from '../merge-batch.ts';
import type { MasterState, TableSession } from '../ports.ts';
import { imageChanges, type ImageChanges } from './image-changes.ts';

/** A part of the new version: kept from the current one, or written by this merge. */
export interface WorkingPart {
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

/** The new version, built locally: its parts (the new ones written and hashed), images and counts. */
export interface VersionPlan {
  version: number;
  /** Every part of the new version, by number. */
  parts: Map<number, WorkingPart>;
  /** The parts this merge wrote, in number order: uploaded before the commit. */
  newParts: WorkingPart[];
  nextPart: number;
  rowsUpdated: number;
  images: ImageChanges;
}

/** Columns, types and key of a master: a batch whose contract changes them cannot merge into it. */
export function schemaFingerprint(contract: DataContract): string {
  return JSON.stringify({
    key: contract.primary_key,
    columns: contract.columns.map((c) => [c.name, c.type]),
  });
}

/** Why the batch's contract cannot merge into the master as it is, or undefined when it can. */
export function schemaRefusal(
  state: MasterState,
  contract: DataContract,
  dataset: string,
): string | undefined {
  if (state.schemaFingerprint === null || state.schemaFingerprint === schemaFingerprint(contract)) {
    return undefined;
  }
  return `contract ${contract.name}@${contract.version} changes the columns or key of master ${dataset}`;
}

const partRelpath = (partNo: number) => `parts/part-${String(partNo).padStart(8, '0')}.parquet`;

/**
 * Plans the new version from the current one: the batch becomes one new part, the parts holding
 * keys it replaces are rewritten without them, at most one bounded compaction step runs, and the
 * image references change by the rows added minus the rows replaced. Unchanged parts are kept as
 * they are. Writes only local files (in `input.workDir`); nothing is uploaded or committed.
 */
export async function planVersion(
  deps: MergeDeps,
  session: TableSession,
  state: MasterState,
  input: MergeInput,
): Promise<VersionPlan> {
  const { contract } = input;
  const pk = contract.primary_key;
  let nextPart = state.nextPart;
  const parts = currentParts(state);

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

  return {
    version: state.version + 1,
    parts,
    newParts: [...parts.values()].filter((p) => p.isNew).sort((a, b) => a.partNo - b.partNo),
    nextPart,
    rowsUpdated,
    images,
  };
}

/** The parts of the current version, as the plan starts from them. */
function currentParts(state: MasterState): Map<number, WorkingPart> {
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
  return parts;
}
