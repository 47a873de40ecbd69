import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '@tributary/errors';
import { objectUri, type ObjectStore } from '@tributary/storage';
import { HashingPassThrough } from './hashing.ts';
import type { StagedUploads } from './staged-uploads.ts';

/** Prefix of the data store where HTTP uploads wait for their ingest: `landing/uploads/<upload id>/<path>`. */
export const UPLOAD_STAGING_PREFIX = 'landing/uploads/';

/**
 * Streams uploaded files into the landing area of the data store, hashing them on the way: a
 * file is never held whole in memory, and its digests are known once its last byte is stored. They
 * are recorded, so the ingest copies the file into raw/ without reading it again.
 */
export class UploadStaging {
  private readonly store: ObjectStore;
  private readonly uploads: StagedUploads;
  constructor(store: ObjectStore, uploads: StagedUploads) {
    this.store = store;
    this.uploads = uploads;
  }

  newUploadId(): string {
    return randomUUID();
  }

  /**
   * Stores one file. Fails with a 413 AppError (ING_ERR_FILE_TOO_LARGE or ING_ERR_BATCH_TOO_LARGE)
   * as soon as the file goes past `maxFileBytes` or past the `batchBytesLeft` of its upload.
   */
  async stage(
    uploadId: string,
    path: string,
    body: Readable,
    limits: { maxFileBytes: number; batchBytesLeft: number; maxBatchBytes: number },
  ): Promise<{ uri: string; key: string; sha256: string; size: number; head: Buffer }> {
    const key = `${UPLOAD_STAGING_PREFIX}${uploadId}/${path}`;
    const fileIsTighter = limits.maxFileBytes <= limits.batchBytesLeft;
    const hasher = new HashingPassThrough({
      limit: {
        bytes: Math.min(limits.maxFileBytes, limits.batchBytesLeft),
        error: () =>
          fileIsTighter
            ? tooLarge(
                'ING_ERR_FILE_TOO_LARGE',
                `${path} is larger than the ${limits.maxFileBytes}-byte limit per file`,
              )
            : tooLarge(
                'ING_ERR_BATCH_TOO_LARGE',
                `the upload is larger than the ${limits.maxBatchBytes}-byte limit per batch`,
              ),
      },
    });
    // The store consumes `hasher` while the pipeline feeds it; either failing fails both. Both are
    // awaited to the end, so a failed put has removed its partial object before we answer.
    const stored = this.store.put(key, hasher).catch((err: unknown) => {
      hasher.destroy(err instanceof Error ? err : new Error(String(err))); // unblocks the pipeline
      throw err;
    });
    const [fed, put] = await Promise.allSettled([pipeline(body, hasher), stored]);
    if (fed.status === 'rejected' && fed.reason instanceof AppError) throw fed.reason;
    if (put.status === 'rejected') throw put.reason;
    if (fed.status === 'rejected') throw fed.reason;
    const { sha256, md5, size } = hasher.result;
    await this.uploads.record(key, { sha256, md5, size });
    return { uri: objectUri(this.store, key), key, sha256, size, head: hasher.head };
  }

  /** Removes everything staged for an upload that is not going to be submitted. */
  async discard(uploadId: string): Promise<void> {
    const keys: string[] = [];
    for await (const { key } of this.store.list(`${UPLOAD_STAGING_PREFIX}${uploadId}/`)) keys.push(key);
    if (keys.length > 0) await this.store.delete(keys);
    await this.uploads.forget(keys);
  }
}

function tooLarge(code: 'ING_ERR_FILE_TOO_LARGE' | 'ING_ERR_BATCH_TOO_LARGE', message: string): AppError {
  return new AppError(code, message);
}
