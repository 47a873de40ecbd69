import fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import {
  copyFileAtomically,
  linkOrCopyAtomically,
  writeFileAtomically,
  writeStreamAtomically,
  writeStreamTo,
} from './atomic-file.ts';
import { ObjectNotFoundError } from './errors.ts';
import { TEMP_PREFIX, assertValidKey, assertValidPrefix, compareCodePoints } from './keys.ts';
import type { ListedObject, ObjectBody, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';
import { AppError } from '@tributary/errors';

const MISSING_CODES = new Set(['ENOENT', 'ENOTDIR']);

function isMissing(err: unknown): boolean {
  return MISSING_CODES.has((err as NodeJS.ErrnoException).code ?? '');
}

/**
 * An object store in a local directory: the embedded default. Each key is a file under `root`;
 * writes go through a temp file and a rename, so readers never see a partial object. Unlike S3, a
 * key cannot be both an object and the directory of other objects ("a" and "a/b").
 */
export class FsObjectStore implements ObjectStore {
  readonly root: string;
  readonly uri: string;

  /** @param root absolute path of the store's directory; created on the first write. */
  constructor(root: string) {
    if (!path.isAbsolute(root)) {
      throw new AppError('STORAGE_ERR_BAD_URI', `FsObjectStore needs an absolute root, got '${root}'`);
    }
    this.root = path.resolve(root);
    this.uri = pathToFileURL(this.root).href;
  }

  /** The local path of an object (whether or not it exists). */
  pathOf(key: string): string {
    return path.join(this.root, ...assertValidKey(key).split('/'));
  }

  async put(key: string, body: ObjectBody, _opts?: PutOptions): Promise<{ key: string; size: number }> {
    const target = this.pathOf(key);
    const size = await writeFileAtomically(target, async (handle) => {
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
        await handle.writeFile(bytes);
        return bytes.length;
      }
      return writeStreamTo(handle, body);
    });
    return { key, size };
  }

  async putFile(key: string, localPath: string, _opts?: PutOptions): Promise<{ key: string; size: number }> {
    const target = this.pathOf(key);
    // A missing local file fails here, before a folder or temp file was made for it.
    await fs.access(localPath);
    const size = await copyFileAtomically(localPath, target);
    return { key, size };
  }

  async copyFrom(
    source: ObjectStore,
    sourceKey: string,
    key: string,
  ): Promise<{ key: string; size: number }> {
    if (!(source instanceof FsObjectStore)) return this.put(key, await source.get(sourceKey));
    const from = source.pathOf(sourceKey);
    if (!(await source.exists(sourceKey))) throw new ObjectNotFoundError(sourceKey, source.uri);
    return { key, size: await linkOrCopyAtomically(from, this.pathOf(key)) };
  }

  async get(key: string): Promise<Readable> {
    const handle = await this.openObject(key);
    // The open handle pins this version of the file: a concurrent put renames a new inode over the
    // path and this stream keeps reading the old one to its end.
    return handle.createReadStream();
  }

  async getBuffer(key: string): Promise<Buffer> {
    const handle = await this.openObject(key);
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  async download(key: string, localPath: string): Promise<void> {
    await writeStreamAtomically(localPath, await this.get(key));
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const target = this.pathOf(key);
    try {
      const stat = await fs.stat(target);
      return stat.isFile() ? { size: stat.size } : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== undefined;
  }

  async *list(prefix = ''): AsyncIterable<ListedObject> {
    assertValidPrefix(prefix);
    // Start from the deepest directory the prefix names in full, so that listing one batch does
    // not walk every other batch.
    const slash = prefix.lastIndexOf('/');
    yield* this.walk(slash >= 0 ? prefix.slice(0, slash) : '', prefix);
  }

  async delete(keys: readonly string[]): Promise<void> {
    const targets = keys.map((key) => this.pathOf(key));
    for (const target of targets) {
      try {
        await fs.unlink(target);
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
  }

  private async openObject(key: string): Promise<FileHandle> {
    const target = this.pathOf(key);
    let handle: FileHandle;
    try {
      handle = await fs.open(target, 'r');
    } catch (err) {
      if (isMissing(err)) throw new ObjectNotFoundError(key, this.uri, err);
      throw err;
    }
    // A directory opens fine on Linux, but it is a key prefix, not an object.
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new ObjectNotFoundError(key, this.uri);
    }
    return handle;
  }

  private async *walk(dirKey: string, prefix: string): AsyncIterable<ListedObject> {
    const dirPath = dirKey === '' ? this.root : path.join(this.root, ...dirKey.split('/'));
    let names: string[];
    try {
      names = await fs.readdir(dirPath);
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    const children: { key: string; isDir: boolean; size: number; order: string }[] = [];
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX)) continue;
      const key = dirKey === '' ? name : `${dirKey}/${name}`;
      let stat;
      try {
        stat = await fs.stat(path.join(dirPath, name));
      } catch (err) {
        if (isMissing(err)) continue; // deleted while we were listing
        throw err;
      }
      const isDir = stat.isDirectory();
      if (!isDir && !stat.isFile()) continue;
      // Sorting "dir/" against "file" makes the walk yield keys in plain string order, like S3.
      children.push({ key, isDir, size: stat.size, order: isDir ? `${name}/` : name });
    }
    children.sort((a, b) => compareCodePoints(a.order, b.order));
    for (const child of children) {
      if (child.isDir) {
        const asPrefix = `${child.key}/`;
        if (asPrefix.startsWith(prefix) || prefix.startsWith(asPrefix)) yield* this.walk(child.key, prefix);
      } else if (child.key.startsWith(prefix)) {
        yield { key: child.key, size: child.size };
      }
    }
  }
}
