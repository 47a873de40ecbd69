import { AppError } from '@tributary/errors';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FsObjectStore } from './fs-store.ts';
import { assertValidKey } from './keys.ts';
import type { ObjectStore } from './object-store.ts';
import { S3ObjectStore, type S3StoreOptions } from './s3-store.ts';

/** Options of `createObjectStore`; they only matter for `s3://` URIs. */
export type ObjectStoreOptions = S3StoreOptions;

/**
 * Opens the object store a URI names:
 * - `file:///abs/dir` or `/abs/dir` → a directory on the local filesystem;
 * - `s3://bucket` or `s3://bucket/prefix` → S3 or an S3-compatible service reached with `opts`.
 */
export function createObjectStore(uri: string, opts: ObjectStoreOptions = {}): ObjectStore {
  if (uri.startsWith('file:')) return new FsObjectStore(fileURLToPath(uri));
  if (path.isAbsolute(uri)) return new FsObjectStore(uri);
  if (uri.startsWith('s3://')) {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    if (bucket === '') throw badUri(uri, 'it names no bucket');
    return new S3ObjectStore(bucket, slash < 0 ? '' : rest.slice(slash + 1), opts);
  }
  throw badUri(uri, 'expected file:///abs/dir, an absolute path or s3://bucket/prefix');
}

/** A printable URI of one object: `s3://bucket/prefix/key` or `file:///abs/dir/key`. */
export function objectUri(store: ObjectStore, key: string): string {
  assertValidKey(key);
  if (store.uri.startsWith('file:')) {
    return pathToFileURL(path.join(fileURLToPath(store.uri), ...key.split('/'))).href;
  }
  return `${store.uri.replace(/\/+$/, '')}/${key}`;
}

function badUri(uri: string, reason: string): AppError {
  return new AppError('STORAGE_ERR_BAD_URI', `Cannot open object store '${uri}': ${reason}`, {
    details: { uri },
  });
}
