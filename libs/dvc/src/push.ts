import { FsObjectStore, putFrom, type ObjectSource, type ObjectStore } from '@tributary/storage';
import path from 'node:path';
import pMap from 'p-map';
import { buildDirObject, type DirEntry } from './dir-object.ts';
import { hashDirectory, type DirHash } from './hash-directory.ts';
import { dvcObjectKey } from './layout.ts';
import { hashFile, type FileHash } from './md5.ts';

/** A file of a directory whose md5 is already known, with where its bytes are. */
export interface StagedEntry extends DirEntry {
  source: ObjectSource;
}

/**
 * What to store in DVC layout:
 * - `{ file }`: one local file (hashed unless `hash` is given);
 * - `{ directory }`: a local directory (hashed unless `hash`, from `hashDirectory`, is given);
 * - `{ entries }`: a directory described in memory, md5s known, nothing hashed again.
 */
export type DvcSource =
  | { file: string; hash?: FileHash }
  | { directory: string; hash?: DirHash }
  | { entries: readonly StagedEntry[] };

/** The hash fields of a `.dvc` out (add `path` to render it), and what the push did. */
export interface PushResult {
  md5: string;
  size: number;
  /** Set for a directory. */
  nfiles?: number;
  /** Objects written, and objects already present (same hash, same bytes) and skipped. */
  uploaded: number;
  skipped: number;
}

/** Options of a push. */
export interface PushOptions {
  /** Objects written in parallel (default 8). */
  concurrency?: number;
}

interface PendingObject {
  md5: string;
  source: ObjectSource;
}

/**
 * Stores a file or a directory in a DVC remote held in an ObjectStore, laid out as DVC 3 expects
 * (`files/md5/xx/rest`), so that `dvc pull` with a matching `.dvc` file restores it. Objects
 * already present are skipped (content-addressed: same key, same bytes). A directory's `.dir`
 * object is written last, so a reader that finds it finds every file it lists.
 */
export async function pushToRemote(
  store: ObjectStore,
  source: DvcSource,
  opts: PushOptions = {},
): Promise<PushResult> {
  const concurrency = opts.concurrency ?? 8;
  if ('file' in source) {
    const hash = source.hash ?? (await hashFile(source.file));
    const counts = await putObjects(store, [{ md5: hash.md5, source: source.file }], concurrency);
    return { md5: hash.md5, size: hash.size, ...counts };
  }

  let files: PendingObject[];
  let tree: DirHash;
  if ('directory' in source) {
    tree = source.hash ?? (await hashDirectory(source.directory));
    const root = path.resolve(source.directory);
    files = tree.entries.map((e) => ({ md5: e.md5, source: path.join(root, ...e.relpath.split('/')) }));
  } else {
    tree = buildDirObject(source.entries);
    files = source.entries.map((e) => ({ md5: e.md5, source: e.source }));
  }
  const fileCounts = await putObjects(store, uniqueByMd5(files), concurrency);
  const dirCounts = await putObjects(store, [{ md5: tree.md5, source: Buffer.from(tree.json, 'ascii') }], 1);
  return {
    md5: tree.md5,
    size: tree.size,
    nfiles: tree.nfiles,
    uploaded: fileCounts.uploaded + dirCounts.uploaded,
    skipped: fileCounts.skipped + dirCounts.skipped,
  };
}

/**
 * Stores a file or a directory in a local DVC cache directory (a repo's `.dvc/cache`), so that
 * `dvc checkout` with a matching `.dvc` file restores it without `dvc add` ever running.
 */
export async function writeToCache(
  cacheDir: string,
  source: DvcSource,
  opts: PushOptions = {},
): Promise<PushResult> {
  return pushToRemote(new FsObjectStore(path.resolve(cacheDir)), source, opts);
}

/** Files with identical content share one object: write it once. */
function uniqueByMd5(objects: readonly PendingObject[]): PendingObject[] {
  const byMd5 = new Map<string, PendingObject>();
  for (const o of objects) if (!byMd5.has(o.md5)) byMd5.set(o.md5, o);
  return [...byMd5.values()];
}

async function putObjects(
  store: ObjectStore,
  objects: readonly PendingObject[],
  concurrency: number,
): Promise<{ uploaded: number; skipped: number }> {
  const written = await pMap(
    objects,
    async (o) => {
      const key = dvcObjectKey(o.md5);
      if (await store.exists(key)) return false;
      await putFrom(store, key, o.source);
      return true;
    },
    { concurrency },
  );
  const uploaded = written.filter(Boolean).length;
  return { uploaded, skipped: written.length - uploaded };
}
