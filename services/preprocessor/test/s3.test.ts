import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceApp } from '@tributary/runtime';
import { createObjectStore, createS3Client, type ObjectStore } from '@tributary/storage';
import { PENGUIN_COUNT, penguinRows, stackS3, stackS3Env } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import { csvBytes, png, testEnvironment, writeRawBatch, type TestEnvironment } from './helpers.ts';

const bucket = `tributary-pre-${randomUUID()}`;
let t: TestEnvironment;
let app: ServiceApp;
let store: ObjectStore;

beforeAll(async () => {
  await createS3Client(stackS3).send(new CreateBucketCommand({ Bucket: bucket }));
  const uri = `s3://${bucket}/data`;
  store = createObjectStore(uri, stackS3);
  t = await testEnvironment({
    DATA_STORE_URI: uri,
    ...stackS3Env,
  });
  app = await buildApp(loadServiceConfig(t.env));
  await app.start();
});

afterAll(async () => {
  await app?.stop();
  await t?.dispose();
  const keys: string[] = [];
  for await (const o of store.list()) keys.push(o.key);
  await store.delete(keys);
  await createS3Client(stackS3).send(new DeleteBucketCommand({ Bucket: bucket }));
});

describe('preprocessor on S3', () => {
  it('when the data store is an S3 bucket, then two batches merge into versions whose files are all in the bucket', async () => {
    const versions = await t.readVersions();
    const rows = await penguinRows({ count: PENGUIN_COUNT });
    const first = rows.slice(0, 40).map((r, i) => (i === 0 ? { ...r, image: 'img/a.png' } : r));
    await t.publish(
      await writeRawBatch(store, 'penguins', 's3-b1', [
        { path: 'rows.csv', role: 'TABLE', bytes: csvBytes(first) },
        { path: 'img/a.png', role: 'IMAGE', bytes: await png(20, 20, [5, 6, 7]) },
      ]),
    );
    await t.publish(
      await writeRawBatch(store, 'penguins', 's3-b2', [
        {
          path: 'rows.csv',
          role: 'TABLE',
          bytes: csvBytes(rows.slice(30, 60).map((r) => ({ ...r, sex: null }))),
        },
      ]),
    );
    const [v1, v2] = await versions.waitForCount(2);
    expect(v1).toMatchObject({
      master_version: 1,
      row_count: 40,
      location: `s3://${bucket}/data/master/penguins/penguins-v1`,
    });
    expect(v2).toMatchObject({
      master_version: 2,
      row_count: 60,
      rows_updated: 10,
      dvc_file: `s3://${bucket}/data/master/penguins/penguins-v2.dvc`,
    });
    const dvcFile = (await store.getBuffer('master/penguins/penguins-v2.dvc')).toString('utf8');
    expect(dvcFile).toContain(`md5: ${v2!.checksum}`);
    const dir = JSON.parse(
      (await store.getBuffer(`dvc/files/md5/${v2!.checksum.slice(0, 2)}/${v2!.checksum.slice(2)}`)).toString(
        'ascii',
      ),
    ) as { md5: string; relpath: string }[];
    expect(dir.filter((e) => e.relpath.startsWith('parts/')).length).toBeGreaterThanOrEqual(2);
    expect(dir.filter((e) => e.relpath.startsWith('images/'))).toHaveLength(1);
    for (const e of dir)
      expect(await store.exists(`dvc/files/md5/${e.md5.slice(0, 2)}/${e.md5.slice(2)}`)).toBe(true);
  });
});
