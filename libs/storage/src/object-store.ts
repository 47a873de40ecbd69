import type { Readable } from 'node:stream';

/** What `put` accepts: bytes in memory, a UTF-8 string, or a stream that is consumed once. */
export type ObjectBody = Buffer | string | Readable;

/** Options of a write. */
export interface PutOptions {
  /** MIME type recorded by backends that keep one (S3); ignored by the filesystem. */
  contentType?: string;
  /**
   * User metadata (tags) recorded by backends that keep it: S3 stores it as `x-amz-meta-<name>`.
   * The filesystem has none: callers also write what matters into their own files.
   */
  metadata?: Record<string, string>;
}

/** Size (and, where the backend has one, its entity tag) of a stored object. */
export interface ObjectInfo {
  size: number;
  etag?: string;
}

/** One object of a listing. */
export interface ListedObject {
  key: string;
  size: number;
}

/**
 * An object store addressed by relative posix keys ("batches/b-1/part-0.parquet").
 * Writes are all-or-nothing: a reader sees the previous object or the new one, never a part.
 * A missing object is an `ObjectNotFoundError`; a key escaping the root is an `InvalidKeyError`.
 */
export interface ObjectStore {
  /** Where the store's root is: `file:///abs/dir` or `s3://bucket/prefix`. */
  readonly uri: string;
  /** Stores `body` under `key`, replacing any previous object; resolves with the bytes written. */
  put(key: string, body: ObjectBody, opts?: PutOptions): Promise<{ key: string; size: number }>;
  /** Stores the content of a local file under `key`, streamed. */
  putFile(key: string, localPath: string, opts?: PutOptions): Promise<{ key: string; size: number }>;
  /**
   * Stores a copy of `sourceKey` of `source` under `key`. Within one backend the bytes do not pass
   * through this process (a hard link between folders of one filesystem, else a kernel copy; S3's
   * CopyObject on one service); across backends they are streamed. The copy stays as it is when
   * the source is replaced or deleted. A missing source is an `ObjectNotFoundError`.
   */
  copyFrom(source: ObjectStore, sourceKey: string, key: string): Promise<{ key: string; size: number }>;
  /** Streams an object; rejects with `ObjectNotFoundError` before any byte if it is missing. */
  get(key: string): Promise<Readable>;
  /** Reads a whole object into memory: for small objects (manifests, reports) only. */
  getBuffer(key: string): Promise<Buffer>;
  /** Copies an object to a local file, streamed; the file appears complete or not at all. */
  download(key: string, localPath: string): Promise<void>;
  /** Size of an object, or `undefined` if it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Whether an object exists. */
  exists(key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix` (a plain string prefix), in key order. */
  list(prefix?: string): AsyncIterable<ListedObject>;
  /** Deletes objects; keys that do not exist are ignored. */
  delete(keys: readonly string[]): Promise<void>;
}
