import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { stackS3 } from '@tributary/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { S3ObjectStore, createObjectStore, createS3Client, objectUri } from '../src/index.ts';
import { objectStoreContract, pseudoRandomStream } from './contract.ts';

const s3Options = {
  ...stackS3,
  // The S3 minimum, so the multi-MB contract test goes through a real multipart upload.
  partSize: 5 * 1024 * 1024,
};
const client = createS3Client(s3Options);
const buckets: string[] = [];

async function freshBucket(): Promise<string> {
  const bucket = `tributary-test-${randomUUID()}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  buckets.push(bucket);
  return bucket;
}

afterAll(async () => {
  for (const bucket of buckets) {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (listed.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
    if (keys.length > 0)
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  }
});

objectStoreContract('S3 (bucket root)', async () =>
  createObjectStore(`s3://${await freshBucket()}`, s3Options),
);
objectStoreContract('S3 (under a prefix)', async () =>
  createObjectStore(`s3://${await freshBucket()}/tenant/datasets`, s3Options),
);

describe('S3ObjectStore', () => {
  it('when the store has a prefix, then objects live under it and keys are listed relative to it', async () => {
    const bucket = await freshBucket();
    const store = createObjectStore(`s3://${bucket}/tenant/`, s3Options);
    await store.put('batches/b-1.csv', 'a,b\n');

    const raw = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const listed: string[] = [];
    for await (const o of store.list()) listed.push(o.key);

    expect(store.uri).toBe(`s3://${bucket}/tenant`);
    expect(raw.Contents?.map((o) => o.Key)).toEqual(['tenant/batches/b-1.csv']);
    expect(listed).toEqual(['batches/b-1.csv']);
    expect(objectUri(store, 'batches/b-1.csv')).toBe(`s3://${bucket}/tenant/batches/b-1.csv`);
  });

  it('when more objects than one listing page exist, then list follows the continuation token', async () => {
    const bucket = await freshBucket();
    const store = new S3ObjectStore(bucket, '', s3Options);
    const keys = Array.from({ length: 25 }, (_, i) => `page/${String(i).padStart(3, '0')}`);
    await Promise.all(keys.map((key) => store.put(key, key)));
    await store.put('other/x', 'x');

    // A small page size forces several ListObjectsV2 round trips without writing 1000 objects.
    const paged = new S3ObjectStore(bucket, '', { ...s3Options, listPageSize: 7 });
    const listed: string[] = [];
    for await (const o of paged.list('page/')) listed.push(o.key);

    expect(listed).toEqual(keys);
  });

  it('when a stream larger than one part is put, then it is uploaded as a multipart object', async () => {
    const store = new S3ObjectStore(await freshBucket(), '', s3Options);
    const size = 11 * 1024 * 1024;

    const written = await store.put('multi/part', pseudoRandomStream(size, 'multipart'));

    expect(written.size).toBe(size);
    // A multipart object's ETag ends with "-<number of parts>": 5 + 5 + 1 MiB.
    expect((await store.head('multi/part'))?.etag).toMatch(/^[0-9a-f]{32}-3$/);
  });

  it('when an object exists, then head reports its ETag', async () => {
    const store = new S3ObjectStore(await freshBucket(), '', s3Options);
    await store.put('etag/x', 'hello');

    // For a single-part upload S3's ETag is the MD5 of the content.
    expect(await store.head('etag/x')).toEqual({ size: 5, etag: '5d41402abc4b2a76b9719d911017c592' });
  });
});
