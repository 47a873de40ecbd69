import {
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  type LifecycleRule as S3LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
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
import { isArchiveRuleId, type LifecycleRule } from '../domain/retention.ts';

/** The published store over the object store lib. */
export class ObjectPublishStore implements PublishStore {
  readonly store: ObjectStore;
  constructor(store: ObjectStore) {
    this.store = store;
  }

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
  private readonly s3: ObjectStoreOptions;
  constructor(s3: ObjectStoreOptions) {
    this.s3 = s3;
  }

  read(uri: string): Promise<Buffer> {
    return this.at(uri, (store, key) => store.getBuffer(key));
  }

  /** Streams an artifact: candidates may be larger than memory. */
  open(uri: string): Promise<Readable> {
    return this.at(uri, (store, key) => store.get(key));
  }

  private async at<T>(uri: string, fn: (store: ObjectStore, key: string) => Promise<T>): Promise<T> {
    const slash = uri.lastIndexOf('/');
    try {
      return await fn(createObjectStore(uri.slice(0, slash), this.s3), uri.slice(slash + 1));
    } catch (err) {
      if (err instanceof ObjectNotFoundError) {
        throw new AppError('PUB_ERR_ARTIFACT_MISSING', `${uri} does not exist`);
      }
      throw err;
    }
  }
}

/** What a write of the archive lifecycle rules did. */
export interface LifecycleUpdate {
  /** True when the bucket holds the publisher's rules as asked (written, or already so). */
  applied: boolean;
  /** False when the bucket already held them: nothing was written. */
  written: boolean;
  /** IDs of the bucket's other rules, kept as they were. */
  kept: string[];
  /** IDs of the publisher's rules removed (evaluation sets no longer declared, or left out). */
  removed: string[];
  /** Why nothing was written: not S3, or the service refused to read or write the rules. */
  reason?: string;
}

/** The prefix a rule applies to, whichever way it is given (Filter, Filter.And, the old top-level Prefix). */
function rulePrefix(rule: S3LifecycleRule): string | undefined {
  return rule.Filter?.Prefix ?? rule.Filter?.And?.Prefix ?? rule.Prefix;
}

/**
 * Whether a rule of the bucket is one of the publisher's for this store: an ID it writes
 * (`tributary-archive-retention[-<set>]`) on a prefix under the store's `archive/`. A rule with such an
 * ID elsewhere in the bucket belongs to someone else, and is kept.
 */
function isOwnRule(rule: S3LifecycleRule, archivePrefix: string): boolean {
  return isArchiveRuleId(rule.ID) && (rulePrefix(rule) ?? '').startsWith(archivePrefix);
}

/** JSON with the keys of every object sorted: S3 answers a rule's fields in an order of its own. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The bucket's lifecycle rules; none when it has no lifecycle configuration. */
async function readRules(client: S3Client, bucket: string): Promise<S3LifecycleRule[]> {
  try {
    return (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchLifecycleConfiguration') return [];
    throw err;
  }
}

/**
 * The bucket's rules with the publisher's replaced by `own`: every other rule kept as it was and
 * where it was, the publisher's updated in place, new ones appended, stale ones removed.
 */
export function mergeLifecycleRules(
  existing: readonly S3LifecycleRule[],
  own: readonly S3LifecycleRule[],
  archivePrefix: string,
): { rules: S3LifecycleRule[]; kept: string[]; removed: string[] } {
  const wanted = new Map(own.map((rule) => [rule.ID, rule]));
  const rules: S3LifecycleRule[] = [];
  const kept: string[] = [];
  const removed: string[] = [];
  for (const rule of existing) {
    if (!isOwnRule(rule, archivePrefix)) {
      rules.push(rule);
      kept.push(rule.ID ?? '(no ID)');
    } else if (wanted.has(rule.ID)) {
      rules.push(wanted.get(rule.ID)!);
      wanted.delete(rule.ID);
    } else removed.push(rule.ID!);
  }
  return { rules: [...rules, ...wanted.values()], kept, removed };
}

/**
 * Sets the publisher's lifecycle rules expiring the archives (prefixes relative to the store) and
 * keeps every other rule of the bucket: it reads the bucket's configuration, replaces the
 * publisher's own rules (see isOwnRule) with `rules` and writes the result, or nothing when the
 * bucket holds them already. When the configuration cannot be read nothing is written (that would
 * drop the others' rules). S3 has no conditional write of lifecycle rules: a rule an operator writes
 * between the read and the write is lost, so change them while the declarations do not.
 * Answers applied false when the store is not S3 or the service refuses (the sweeper deletes
 * expired archives either way).
 */
export async function applyArchiveLifecycle(
  storeUri: string,
  s3: ObjectStoreOptions,
  rules: readonly LifecycleRule[],
): Promise<LifecycleUpdate> {
  const none = { applied: false, written: false, kept: [], removed: [] };
  if (!storeUri.startsWith('s3://')) return { ...none, reason: 'not an S3 store' };
  const [bucket, ...rest] = storeUri.slice('s3://'.length).split('/');
  const prefix = rest.filter(Boolean).join('/');
  const storePrefix = prefix ? `${prefix}/` : '';
  const own: S3LifecycleRule[] = rules.map((rule) => ({
    ID: rule.id,
    Status: 'Enabled',
    Filter: { Prefix: `${storePrefix}${rule.prefix}` },
    Expiration: { Days: rule.days },
  }));
  const client = createS3Client(s3);
  try {
    let existing: S3LifecycleRule[];
    try {
      existing = await readRules(client, bucket!);
    } catch (err) {
      return { ...none, reason: `lifecycle rules not readable: ${String(err)}` };
    }
    const merged = mergeLifecycleRules(existing, own, `${storePrefix}archive/`);
    const unchanged = canonical(merged.rules) === canonical(existing);
    try {
      if (unchanged) return { applied: true, written: false, kept: merged.kept, removed: [] };
      if (merged.rules.length === 0) await client.send(new DeleteBucketLifecycleCommand({ Bucket: bucket }));
      else {
        await client.send(
          new PutBucketLifecycleConfigurationCommand({
            Bucket: bucket,
            LifecycleConfiguration: { Rules: merged.rules },
          }),
        );
      }
    } catch (err) {
      return { ...none, kept: merged.kept, reason: `lifecycle rules not written: ${String(err)}` };
    }
    return { applied: true, written: true, kept: merged.kept, removed: merged.removed };
  } finally {
    client.destroy();
  }
}
