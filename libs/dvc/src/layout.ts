import { invalid } from './invalid.ts';

const OBJECT_HASH = /^([0-9a-f]{2})([0-9a-f]{30}(?:\.dir)?)$/;

/**
 * Where DVC 3 keeps an object in a cache or remote: `files/md5/<2 hex>/<30 hex>`, with the `.dir`
 * suffix kept for directory objects.
 */
export function dvcObjectKey(md5: string): string {
  const match = OBJECT_HASH.exec(md5);
  if (match === null) throw invalid(`Not a DVC md5: '${md5}'`);
  return `files/md5/${match[1]}/${match[2]}`;
}

/**
 * Name of master version `version` of `dataset` as DVC sees it: `<dataset>-v<N>`, the `.dvc` file
 * `<dataset>-v<N>.dvc` and its `path: <dataset>-v<N>`. The dataset is in the name so that versions of
 * several datasets can be checked out side by side in one DVC repository (a bare `v<N>` collided);
 * the trailing `-v<digits>` keeps names of different datasets apart (`a-v1-v2` is only `a-v1`, v2).
 */
export function masterVersionName(dataset: string, version: number): string {
  if (!Number.isSafeInteger(version) || version < 1) throw invalid(`Not a master version: ${version}`);
  return `${dataset}-v${version}`;
}

/**
 * Store key (without `.dvc`) of a master version, relative to the data store: where its `.dvc` file
 * is (`<key>.dvc`) and where the directory materialises next to it. Versions written before
 * dataset-named versions are at `master/<dataset>/v<N>`: read their recorded location, never rebuild it.
 */
export function masterVersionKey(dataset: string, version: number): string {
  return `master/${dataset}/${masterVersionName(dataset, version)}`;
}
