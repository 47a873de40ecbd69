import pMap from 'p-map';
import { pushToRemote, renderDvcFile } from '@tributary/dvc';
import { objectUri, putFrom, type ObjectSource, type ObjectStore } from '@tributary/storage';
import type { RawSnapshot, RawStore, StagedBytes } from '../domain/ports.ts';

/** Key of a raw batch directory: `raw/<dataset>/<batch_id>` (its files are below it). */
export const rawDirKey = (dataset: string, batchId: string) => `raw/${dataset}/${batchId}`;
/** Key of a raw batch's `.dvc` file, beside its directory: `raw/<dataset>/<batch_id>.dvc`. */
export const rawDvcFileKey = (dataset: string, batchId: string) => `${rawDirKey(dataset, batchId)}.dvc`;
/** Key of an ingest rejection report: one per batch id and refused content. */
export const reportKey = (dataset: string, batchId: string, contentHash: string) =>
  `reports/ingest/${dataset}/${batchId}/${contentHash.slice(0, 16)}.json`;

/**
 * The raw area of the data store, laid out so that the store's `dvc/` folder is a DVC remote:
 * a `.dvc` file copied into any DVC repo with that remote restores the batch with `dvc pull`.
 */
export class ObjectRawStore implements RawStore {
  private readonly store: ObjectStore;
  private readonly dvcRemote: ObjectStore;
  private readonly concurrency: number;
  constructor(store: ObjectStore, dvcRemote: ObjectStore, concurrency: number) {
    this.store = store;
    this.dvcRemote = dvcRemote;
    this.concurrency = concurrency;
  }

  async snapshot(
    dataset: string,
    batchId: string,
    files: readonly { path: string; at: StagedBytes; md5: string; size: number }[],
  ): Promise<RawSnapshot> {
    const dir = rawDirKey(dataset, batchId);
    const keep = new Set(files.map((f) => `${dir}/${f.path}`));
    await this.deleteUnder(dir, (key) => !keep.has(key));
    await pMap(files, (f) => putFrom(this.store, `${dir}/${f.path}`, this.sourceOf(f.at)), {
      concurrency: this.concurrency,
    });
    // Objects first, the .dir object after them (pushToRemote's order), the .dvc file last: whoever
    // finds the .dvc file finds everything it names.
    const pushed = await pushToRemote(
      this.dvcRemote,
      {
        entries: files.map((f) => ({
          relpath: f.path,
          md5: f.md5,
          size: f.size,
          source: this.sourceOf(f.at),
        })),
      },
      { concurrency: this.concurrency },
    );
    const nfiles = pushed.nfiles ?? files.length;
    const dvcFile = renderDvcFile({ path: batchId, md5: pushed.md5, size: pushed.size, nfiles });
    await this.store.put(rawDvcFileKey(dataset, batchId), dvcFile, { contentType: 'application/yaml' });
    return {
      rawLocation: objectUri(this.store, dir),
      rawDvcFile: objectUri(this.store, rawDvcFileKey(dataset, batchId)),
      rawMd5: pushed.md5,
      size: pushed.size,
      nfiles,
    };
  }

  async clear(dataset: string, batchId: string): Promise<void> {
    await this.store.delete([rawDvcFileKey(dataset, batchId)]);
    await this.deleteUnder(rawDirKey(dataset, batchId), () => true);
  }

  async writeReport(dataset: string, batchId: string, contentHash: string, report: unknown): Promise<string> {
    const key = reportKey(dataset, batchId, contentHash);
    await this.store.put(key, `${JSON.stringify(report, null, 2)}\n`, { contentType: 'application/json' });
    return objectUri(this.store, key);
  }

  /** A scratch copy, or the staged upload itself in the data store. */
  private sourceOf(at: StagedBytes): ObjectSource {
    return 'localPath' in at ? at.localPath : { store: this.store, key: at.stagedKey };
  }

  private async deleteUnder(dir: string, select: (key: string) => boolean): Promise<void> {
    const doomed: string[] = [];
    for await (const { key } of this.store.list(`${dir}/`)) if (select(key)) doomed.push(key);
    if (doomed.length > 0) await this.store.delete(doomed);
  }
}
