import { buildDirObject } from '@tributary/dvc';
import type { MergeDeps } from '../merge-batch.ts';
import type { VersionPlan } from './plan-version.ts';

/** The new version's DVC directory object, as uploaded. */
export type VersionDirectory = ReturnType<typeof buildDirObject>;

/**
 * Uploads what the new version needs before its commit: the parts the plan wrote, then the DVC
 * directory object that lists every part and image of the version. The intent log, written first,
 * lets a crashed attempt's unreferenced parts be found and deleted later (a retry writes the same
 * bytes and reuses them).
 */
export async function writeObjects(
  deps: Pick<MergeDeps, 'repo' | 'store'>,
  plan: VersionPlan,
  batch: { dataset: string; batchId: string },
): Promise<VersionDirectory> {
  await deps.repo.recordIntent(
    batch.dataset,
    batch.batchId,
    plan.newParts.map((p) => p.md5),
  );
  for (const p of plan.newParts) await deps.store.putDvcObject(p.md5, p.local!);

  const entries = [
    ...[...plan.parts.values()].map((p) => ({ relpath: p.relpath, md5: p.md5, size: p.size })),
    ...plan.images.kept.map((f) => ({ relpath: f.relpath, md5: f.md5, size: f.size })),
    ...plan.images.added.map((i) => ({ relpath: i.relpath, md5: i.md5, size: i.size })),
  ];
  const dir = buildDirObject(entries);
  await deps.store.putDvcObject(dir.md5, Buffer.from(dir.json, 'ascii'));
  return dir;
}
