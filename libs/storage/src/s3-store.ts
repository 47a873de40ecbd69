import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AppError } from '@tributary/errors';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import { writeStreamAtomically } from './atomic-file.ts';
import { ObjectNotFoundError } from './errors.ts';
import { assertValidKey, assertValidPrefix } from './keys.ts';
import type { ListedObject, ObjectBody, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';

/** How to reach an S3-compatible service. The caller resolves these from its config. */
export interface S3StoreOptions {
  /** Endpoint of an S3-compatible service (MinIO, moto, ...); AWS itself when omitted. */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** `http://host/bucket/key` instead of `http://bucket.host/key`; most S3-compatible servers need it. */
  forcePathStyle?: boolean;
  /** A ready client, instead of one built from the options above. */
  client?: S3Client;
  /** Multipart part size in bytes (default 8 MiB, S3's minimum is 5 MiB). */
  partSize?: number;
  /** Parts uploaded in parallel per object (default 4); memory use is about partSize × queueSize. */
  queueSize?: number;
  /** Keys per ListObjectsV2 page (default and S3's maximum: 1000). */
  listPageSize?: number;
}

const DELETE_BATCH = 1000; // DeleteObjects' limit per request
const COPY_OBJECT_MAX_BYTES = 5 * 1024 ** 3; // CopyObject's limit; larger objects are streamed

/** Builds an S3 client from explicit options only: nothing is read from the environment here. */
export function createS3Client(opts: S3StoreOptions): S3Client {
  return new S3Client({
    ...(opts.endpoint === undefined ? {} : { endpoint: opts.endpoint }),
    region: opts.region ?? 'us-east-1',
    ...(opts.credentials === undefined ? {} : { credentials: opts.credentials }),
    forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
    // S3-compatible servers often reject the SDK's newer default checksums on every request;
    // send them only where the API requires them. AWS itself is left at the SDK default.
    ...(opts.endpoint === undefined
      ? {}
      : { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }),
  });
}

/** An object store under `s3://bucket/prefix`, with streamed multipart uploads. */
export class S3ObjectStore implements ObjectStore {
  readonly uri: string;
  readonly bucket: string;
  /** Key prefix inside the bucket: empty, or ending with "/". */
  readonly prefix: string;
  readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly listPageSize: number | undefined;
  /** The service and account this store reaches (unknown for a given client): same one, server-side copies. */
  private readonly service: string | undefined;

  constructor(bucket: string, prefix: string, opts: S3StoreOptions = {}) {
    this.bucket = bucket;
    const trimmed = prefix.replace(/^\/+|\/+$/g, '');
    if (trimmed !== '') assertValidKey(trimmed);
    this.prefix = trimmed === '' ? '' : `${trimmed}/`;
    this.uri = trimmed === '' ? `s3://${bucket}` : `s3://${bucket}/${trimmed}`;
    this.client = opts.client ?? createS3Client(opts);
    this.partSize = opts.partSize ?? 8 * 1024 * 1024;
    this.queueSize = opts.queueSize ?? 4;
    this.listPageSize = opts.listPageSize;
    this.service = opts.client
      ? undefined
      : `${opts.endpoint ?? 'aws'}|${opts.region ?? ''}|${opts.credentials?.accessKeyId ?? ''}`;
  }

  async put(key: string, body: ObjectBody, opts: PutOptions = {}): Promise<{ key: string; size: number }> {
    const objectKey = this.objectKey(key);
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      await this.upload(objectKey, bytes, opts);
      return { key, size: bytes.length };
    }
    let size = 0;
    // Count on the way through: the stream is consumed once, by the uploader.
    const counted = Readable.from(
      (async function* count() {
        for await (const chunk of body as AsyncIterable<Buffer | string>) {
          const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
          size += bytes.length;
          yield bytes;
        }
      })(),
    );
    await this.upload(objectKey, counted, opts);
    return { key, size };
  }

  async putFile(
    key: string,
    localPath: string,
    opts: PutOptions = {},
  ): Promise<{ key: string; size: number }> {
    const objectKey = this.objectKey(key);
    const { size } = await fs.stat(localPath);
    await this.upload(objectKey, createReadStream(localPath), opts);
    return { key, size };
  }

  async copyFrom(
    source: ObjectStore,
    sourceKey: string,
    key: string,
  ): Promise<{ key: string; size: number }> {
    const sameService =
      source instanceof S3ObjectStore &&
      (source.client === this.client || (this.service !== undefined && source.service === this.service));
    const info = sameService ? await source.head(sourceKey) : undefined;
    if (!sameService || info === undefined || info.size > COPY_OBJECT_MAX_BYTES) {
      // get() names a missing source; other backends and very large objects are streamed through.
      const body = await source.get(sourceKey);
      return this.put(key, body);
    }
    const from = `${source.bucket}/${source.objectKey(sourceKey)}`;
    await this.client.send(
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        // The copy source is a URL path: each key segment percent-encoded, the slashes kept.
        CopySource: from.split('/').map(encodeURIComponent).join('/'),
      }),
    );
    return { key, size: info.size };
  }

  async get(key: string): Promise<Readable> {
    const objectKey = this.objectKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      if (!(res.Body instanceof Readable)) {
        throw new AppError('STORAGE_ERR_UNEXPECTED', `S3 returned no stream for ${this.uri}/${key}`);
      }
      return res.Body;
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key, this.uri, err);
      throw err;
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.get(key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async download(key: string, localPath: string): Promise<void> {
    await writeStreamAtomically(localPath, await this.get(key));
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const objectKey = this.objectKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      const info: ObjectInfo = { size: res.ContentLength ?? 0 };
      if (res.ETag !== undefined) info.etag = res.ETag.replace(/^"|"$/g, '');
      return info;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== undefined;
  }

  async *list(prefix = ''): AsyncIterable<ListedObject> {
    assertValidPrefix(prefix);
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          ...(this.listPageSize === undefined ? {} : { MaxKeys: this.listPageSize }),
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      for (const object of res.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield { key: object.Key.slice(this.prefix.length), size: object.Size ?? 0 };
      }
      token = res.IsTruncated === true ? res.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(keys: readonly string[]): Promise<void> {
    const objectKeys = keys.map((key) => this.objectKey(key));
    for (let i = 0; i < objectKeys.length; i += DELETE_BATCH) {
      const batch = objectKeys.slice(i, i + DELETE_BATCH);
      const res = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      // DeleteObjects answers 200 even when some keys failed; the failures are in the body.
      const failed = res.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        throw new AppError(
          'STORAGE_ERR_DELETE',
          `Could not delete ${failed.length} object(s) from ${this.uri}, first '${first?.Key}': ${first?.Message}`,
          { details: { keys: failed.map((e) => e.Key) } },
        );
      }
    }
  }

  private objectKey(key: string): string {
    return this.prefix + assertValidKey(key);
  }

  private async upload(objectKey: string, body: Buffer | Readable, opts: PutOptions): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: objectKey,
        Body: body,
        ...(opts.contentType === undefined ? {} : { ContentType: opts.contentType }),
        ...(opts.metadata === undefined ? {} : { Metadata: opts.metadata }),
      },
      partSize: this.partSize,
      queueSize: this.queueSize,
      // A failed multipart upload is aborted, so no invisible parts are left to pay for.
      leavePartsOnError: false,
    });
    await upload.done();
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'NoSuchBucket') return false; // a misconfiguration, not a missing object
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
