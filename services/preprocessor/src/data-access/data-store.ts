import path from 'node:path';
import { dvcObjectKey } from '@tributary/dvc';
import { AppError } from '@tributary/errors';
import { FsObjectStore, ObjectNotFoundError, objectUri, putFrom, type ObjectStore } from '@tributary/storage';
import type { DataStore } from '../domain/ports.ts';
import { readLocalHead } from './local-head.ts';

/** DVC objects live in the data store under this folder, laid out as a DVC remote. */
export const DVC_PREFIX = 'dvc';

/**
 * The data store as the preprocessor sees it. On a filesystem store, tables and parts are read in
 * place; on S3 they are staged to local files first (DuckDB reads local files only here).
 */
export class ObjectDataStore implements DataStore {
  private readonly store: ObjectStore;
  constructor(store: ObjectStore) {
    this.store = store;
  }

  get uri(): string {
    return this.store.uri;
  }

  rawPrefixOf(rawLocation: string): string {
    const root = this.store.uri.replace(/\/+$/, '');
    const location = rawLocation.replace(/\/+$/, '');
    if (!location.startsWith(`${root}/`)) {
      throw new AppError(
        'PRE_ERR_RAW_OUTSIDE_STORE',
        `raw_location ${rawLocation} is not inside the data store ${this.store.uri}`,
      );
    }
    return decodeURIComponent(location.slice(root.length + 1));
  }

  readHead(localPath: string, bytes: number): Promise<Buffer> {
    return readLocalHead(localPath, bytes);
  }

  async localCopy(key: string, workDir: string): Promise<string> {
    if (this.store instanceof FsObjectStore) {
      const local = this.store.pathOf(key);
      if (!(await this.store.exists(key))) throw new ObjectNotFoundError(key, this.store.uri);
      return local;
    }
    const target = path.join(workDir, 'objects', ...key.split('/'));
    await this.store.download(key, target);
    return target;
  }

  async read(key: string): Promise<Buffer | undefined> {
    try {
      return await this.store.getBuffer(key);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
  }

  async putDvcObject(md5: string, source: string | Buffer): Promise<void> {
    const key = `${DVC_PREFIX}/${dvcObjectKey(md5)}`;
    if (await this.store.exists(key)) return; // content-addressed: same key, same bytes
    await putFrom(this.store, key, source);
  }

  localDvcObject(md5: string, workDir: string): Promise<string> {
    return this.localCopy(`${DVC_PREFIX}/${dvcObjectKey(md5)}`, workDir);
  }

  async deleteDvcObjects(md5s: readonly string[]): Promise<void> {
    await this.store.delete(md5s.map((m) => `${DVC_PREFIX}/${dvcObjectKey(m)}`));
  }

  async put(key: string, body: string | Buffer): Promise<string> {
    await this.store.put(key, body);
    return this.uriOf(key);
  }

  uriOf(key: string): string {
    return objectUri(this.store, key);
  }
}
