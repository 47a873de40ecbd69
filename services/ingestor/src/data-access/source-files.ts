import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { AppError } from '@tributary/errors';
import {
  ObjectNotFoundError,
  createObjectStore,
  type ObjectStore,
  type ObjectStoreOptions,
} from '@tributary/storage';
import { IngestErrorCode } from '../domain/batch.ts';
import type { SourceFiles, StagedFile } from '../domain/ports.ts';
import { HashingPassThrough } from './hashing.ts';
import type { StagedUploads } from './staged-uploads.ts';

const MISSING_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/**
 * Reads batch files from where batch.ready says they are: `file://` URIs inside the allowed
 * folders (so a message cannot make the ingestor copy any local file into the store), and
 * `s3://bucket/key` URIs through the configured S3 endpoint.
 */
export class UriSourceFiles implements SourceFiles {
  private readonly buckets = new Map<string, ObjectStore>();
  private readonly roots: string[];
  private readonly opts: {
    /** Local folders file:// URIs may point into. */
    allowedRoots: readonly string[];
    s3: ObjectStoreOptions;
    workRoot: string;
    /** The data store and its upload staging prefix: copies the ingestor made itself, deleted once decided. */
    dataStore: ObjectStore;
    stagingPrefix: string;
    stagedUploads: StagedUploads;
  };

  constructor(opts: {
    /** Local folders file:// URIs may point into. */
    allowedRoots: readonly string[];
    s3: ObjectStoreOptions;
    workRoot: string;
    /** The data store and its upload staging prefix: copies the ingestor made itself, deleted once decided. */
    dataStore: ObjectStore;
    stagingPrefix: string;
    stagedUploads: StagedUploads;
  }) {
    this.opts = opts;
    this.roots = opts.allowedRoots.map((r) => path.resolve(r));
  }

  async workspace(): Promise<{ dir: string; dispose(): Promise<void> }> {
    await fs.mkdir(this.opts.workRoot, { recursive: true });
    const dir = await fs.mkdtemp(path.join(this.opts.workRoot, 'tributary-ingest-'));
    return { dir, dispose: () => fs.rm(dir, { recursive: true, force: true }) };
  }

  async stage(uri: string, target: string): Promise<StagedFile> {
    const stagedKey = this.stagedKeyOf(uri);
    if (stagedKey !== undefined) {
      const digests = await this.opts.stagedUploads.find(stagedKey);
      // Without a record (staged by an older release) or an object, it is read as any source is.
      if (digests && (await this.opts.dataStore.exists(stagedKey))) return { at: { stagedKey }, ...digests };
    }
    const source = await this.open(uri);
    const hasher = new HashingPassThrough();
    try {
      await pipeline(source, hasher, createWriteStream(target));
    } catch (err) {
      throw new AppError('ING_ERR_SOURCE_READ', `Could not read ${uri}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return { at: { localPath: target }, ...hasher.result };
  }

  async releaseStaged(uris: readonly string[]): Promise<void> {
    const keys = uris.flatMap((u) => this.stagedKeyOf(u) ?? []);
    if (keys.length === 0) return;
    await this.opts.dataStore.delete(keys);
    await this.opts.stagedUploads.forget(keys);
  }

  /** The data store key of a URI inside the upload staging area; undefined for any other URI. */
  private stagedKeyOf(uri: string): string | undefined {
    const storeUri = this.opts.dataStore.uri.replace(/\/+$/, '');
    if (!uri.startsWith(`${storeUri}/${this.opts.stagingPrefix}`)) return undefined;
    return decodeKey(uri.slice(storeUri.length + 1), storeUri);
  }

  private async open(uri: string): Promise<Readable> {
    if (uri.startsWith('file:')) return this.openLocal(uri);
    if (uri.startsWith('s3://')) return this.openS3(uri);
    throw notAllowed(`unsupported URI scheme in ${uri} (expected file:// or s3://)`);
  }

  private async openLocal(uri: string): Promise<Readable> {
    let file: string;
    try {
      file = fileURLToPath(uri);
    } catch {
      throw notAllowed(`${uri} is not a local file URI`);
    }
    let real: string;
    try {
      // Resolved through symlinks, so a link inside an allowed folder cannot reach outside it.
      real = await fs.realpath(file);
    } catch (err) {
      if (MISSING_CODES.has((err as NodeJS.ErrnoException).code ?? '')) throw missing(uri);
      throw err;
    }
    const roots = await Promise.all(this.roots.map((r) => fs.realpath(r).catch(() => r)));
    if (!roots.some((root) => real === root || real.startsWith(`${root}${path.sep}`))) {
      throw notAllowed(`${uri} is outside the folders the ingestor reads (SOURCE_FILE_ROOTS)`);
    }
    const stat = await fs.stat(real);
    if (!stat.isFile()) throw missing(uri);
    return createReadStream(real);
  }

  private async openS3(uri: string): Promise<Readable> {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1) throw notAllowed(`${uri} names no bucket and key`);
    const bucket = rest.slice(0, slash);
    let store = this.buckets.get(bucket);
    if (!store) {
      store = createObjectStore(`s3://${bucket}`, this.opts.s3);
      this.buckets.set(bucket, store);
    }
    try {
      return await store.get(rest.slice(slash + 1));
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw missing(uri);
      if ((err as { name?: string }).name === 'NoSuchBucket') throw missing(uri);
      if ((err as { code?: string }).code === 'STORAGE_ERR_INVALID_KEY')
        throw notAllowed((err as Error).message);
      throw err;
    }
  }
}

function missing(uri: string): AppError {
  return new AppError(IngestErrorCode.FILE_MISSING, `no file at ${uri}`, { retriable: false });
}

function notAllowed(message: string): AppError {
  return new AppError(IngestErrorCode.SOURCE_NOT_ALLOWED, message, { retriable: false });
}

/** The store key of a staged URI (file URIs are percent-encoded, S3 ones are not). */
function decodeKey(tail: string, storeUri: string): string {
  return storeUri.startsWith('file:') ? decodeURIComponent(tail) : tail;
}
