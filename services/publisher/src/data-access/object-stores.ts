import { PutBucketLifecycleConfigurationCommand } from '@aws-sdk/client-s3';
import { AppError } from '@tributary/errors';
import {
  ObjectNotFoundError,
  createObjectStore,
  createS3Client,
  objectUri,
  type ObjectStore,
  type ObjectStoreOptions,
} from '@tributary/storage';
import type { ArtifactReader, PublishStore } from '../domain/ports.ts';
import type { LifecycleRule } from '../domain/retention.ts';

/** The published store over the object store lib. */
export class ObjectPublishStore implements PublishStore {
  constructor(readonly store: ObjectStore) {}

  async put(key: string, body: Buffer | string): Promise<string> {
    await this.store.put(key, body);
    return objectUri(this.store, key);
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await this.store.getBuffer(key);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
  }

  delete(keys: readonly string[]): Promise<void> {
    return keys.length === 0 ? Promise.resolve() : this.store.delete(keys);
  }

  uri(key: string): string {
    return objectUri(this.store, key);
  }

  /** Every key under a prefix. */
  async keys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for await (const o of this.store.list(prefix)) out.push(o.key);
    return out;
  }
}

/** Reads one artifact by URI (`file:///dir/file` or `s3://bucket/key`). */
export class UriArtifactReader implements ArtifactReader {
  constructor(private readonly s3: ObjectStoreOptions) {}

  async read(uri: string): Promise<Buffer> {
    const slash = uri.lastIndexOf('/');
    try {
      return await createObjectStore(uri.slice(0, slash), this.s3).getBuffer(uri.slice(slash + 1));
    } catch (err) {
      if (err instanceof ObjectNotFoundError) {
        throw new AppError('PUB_ERR_ARTIFACT_MISSING', `${uri} does not exist`, { retriable: false });
      }
      throw err;
    }
  }
}

/**
 * Sets the bucket's lifecycle rules expiring the archives (prefixes relative to the store), in
 * place of the ones it had. Answers false when the store is not S3 or the service refuses the rules
 * (the sweeper deletes expired archives either way).
 */
export async function applyArchiveLifecycle(
  storeUri: string,
  s3: ObjectStoreOptions,
  rules: readonly LifecycleRule[],
): Promise<boolean> {
  if (!storeUri.startsWith('s3://')) return false;
  const [bucket, ...rest] = storeUri.slice('s3://'.length).split('/');
  const prefix = rest.filter(Boolean).join('/');
  const client = createS3Client(s3);
  try {
    await client.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: bucket,
        LifecycleConfiguration: {
          Rules: rules.map((rule) => ({
            ID: rule.id,
            Status: 'Enabled',
            Filter: { Prefix: `${prefix ? `${prefix}/` : ''}${rule.prefix}` },
            Expiration: { Days: rule.days },
          })),
        },
      }),
    );
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}
