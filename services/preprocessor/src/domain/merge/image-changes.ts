import { AppError } from '@tributary/errors';
import type { MergeInput } from '../merge-batch.ts';
import type { ImageRefsUpdate, MasterFile, MasterRepository, MasterState } from '../ports.ts';
import type { CanonicalImage } from '../validate-batch.ts';

export interface ImageChanges {
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
export async function imageChanges(
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
