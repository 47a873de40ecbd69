import { z } from 'zod';
import { dvcObjectKey, md5Buffer } from '@tributary/dvc';
import { AppError } from '@tributary/errors';
import {
  ObjectNotFoundError,
  createObjectStore,
  objectUri,
  type ObjectStoreOptions,
} from '@tributary/storage';
import type { MasterReader, MasterVersion } from '../domain/ports.ts';

const dirObject = z.array(z.object({ md5: z.string().regex(/^[0-9a-f]{32}$/), relpath: z.string().min(1) }));

/**
 * Finds a master version's parts without DVC, as docs/data-pipeline.md ("Store layout") describes: the
 * store is the version's location less its `master/<dataset>/v<N>`; the `.dir` object
 * `dvc/<key of checksum>` lists the version's files, and each Parquet part under `parts/` is the object
 * `dvc/<key of its md5>`. The `.dir` object's md5 is checked here, each part's by the engine reading it,
 * so the rows are exactly those of the announced version.
 */
export class StoreMasterReader implements MasterReader {
  private readonly s3: ObjectStoreOptions;
  constructor(s3: ObjectStoreOptions) {
    this.s3 = s3;
  }

  async parts(master: MasterVersion): Promise<{ relpath: string; uri: string; md5: string }[]> {
    const { parts, store } = await this.listing(master);
    return parts.map((p) => ({
      relpath: p.relpath,
      md5: p.md5,
      uri: objectUri(store, `dvc/${dvcObjectKey(p.md5)}`),
    }));
  }

  private async listing(master: MasterVersion) {
    const store = createObjectStore(storeRoot(master), this.s3);
    const name = `master version ${master.version} of ${master.dataset}`;
    if (!/^[0-9a-f]{32}\.dir$/.test(master.checksum)) {
      throw new AppError(
        'QG_ERR_SOURCE_FORMAT',
        `${name}: checksum ${master.checksum} is not a DVC .dir hash`,
      );
    }
    const object = async (md5: string, what: string): Promise<Buffer> => {
      let bytes: Buffer;
      try {
        bytes = await store.getBuffer(`dvc/${dvcObjectKey(md5)}`);
      } catch (err) {
        // Retriable, like a missing source file: the store may be catching up (or briefly unreachable).
        const missing = err instanceof ObjectNotFoundError;
        throw new AppError(
          missing ? 'QG_ERR_SOURCE_MISSING' : 'QG_ERR_SOURCE_READ',
          `${name}: ${what} (${md5}) ${missing ? 'does not exist' : 'cannot be read'} in ${store.uri}`,
          { retriable: true, cause: err },
        );
      }
      const got = md5.endsWith('.dir') ? `${md5Buffer(bytes)}.dir` : md5Buffer(bytes);
      if (got !== md5) {
        throw new AppError(
          'QG_ERR_SOURCE_CHECKSUM',
          `${name}: ${what} checksum mismatch (expected md5 ${md5}, got ${got})`,
        );
      }
      return bytes;
    };

    const listing = await object(master.checksum, '.dir object');
    let entries: z.infer<typeof dirObject>;
    try {
      entries = dirObject.parse(JSON.parse(listing.toString('utf8')));
    } catch (err) {
      throw new AppError('QG_ERR_SOURCE_FORMAT', `${name}: the .dir object is not a DVC file list`, {
        cause: err,
      });
    }
    const parts = entries
      .filter((e) => e.relpath.startsWith('parts/') && e.relpath.endsWith('.parquet'))
      .sort((a, b) => (a.relpath < b.relpath ? -1 : a.relpath > b.relpath ? 1 : 0));
    // The .dir object was checked; each part's md5 is checked by the engine while it streams.
    return { parts, store };
  }
}

/**
 * The data store a master version lives in: its location less the trailing
 * `master/<dataset>/<dataset>-v<N>` (or `master/<dataset>/v<N>` of versions written before versions
 * were named after their dataset).
 */
export function storeRoot(master: Pick<MasterVersion, 'dataset' | 'version' | 'location'>): string {
  const location = master.location.replace(/\/+$/, '');
  // A file:// location percent-encodes what a dataset name may hold.
  for (const dataset of new Set([master.dataset, encodeURIComponent(master.dataset)])) {
    for (const name of [`${dataset}-v${master.version}`, `v${master.version}`]) {
      const suffix = `/master/${dataset}/${name}`;
      if (location.endsWith(suffix)) return location.slice(0, -suffix.length);
    }
  }
  throw new AppError(
    'QG_ERR_MASTER_LOCATION',
    `master version ${master.version} of ${master.dataset}: location ${master.location} does not end in master/${master.dataset}/${master.dataset}-v${master.version}`,
  );
}
