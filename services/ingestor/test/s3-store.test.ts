import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore, createS3Client, type ObjectStore } from '@tributary/storage';
import { dvcObjectKey } from '@tributary/dvc';
import {
  batchReadyFor,
  stackS3,
  stackS3Env,
  uniqueName,
  waitFor,
  writeSampleBatch,
} from '@tributary/testing';
import { dvc, startHarness, type Harness } from './helpers.ts';

const bucket = uniqueName('ingestor').replaceAll('_', '-');
let h: Harness;
let store: ObjectStore;

beforeAll(async () => {
  await createS3Client(stackS3).send(new CreateBucketCommand({ Bucket: bucket }));
  h = await startHarness('s3', {
    DATA_STORE_URI: `s3://${bucket}/tributary`,
    ...stackS3Env,
  });
  store = createObjectStore(`s3://${bucket}/tributary`, stackS3);
});
afterAll(async () => {
  await h?.close();
  const everything = createObjectStore(`s3://${bucket}`, stackS3);
  const keys: string[] = [];
  for await (const { key } of everything.list()) keys.push(key);
  await everything.delete(keys);
  await createS3Client(stackS3).send(new DeleteBucketCommand({ Bucket: bucket }));
});

describe('ingestor: S3 data store', () => {
  it('when the data store and the producer’s files are on S3, then the batch lands in raw/ and dvc/ there, and dvc pulls it from a copy of dvc/', async () => {
    const sample = await writeSampleBatch(path.join(h.root, 'local'), { offset: 250, count: 20, images: 3 });
    const producerBucket = createObjectStore(`s3://${bucket}`, stackS3);
    for (const f of sample.files) await producerBucket.putFile(`incoming/s3-1/${f.path}`, f.absolutePath);
    const ready = batchReadyFor(sample, { batchId: 's3-1' });
    ready.files = ready.files.map((f) => ({ ...f, uri: `s3://${bucket}/incoming/s3-1/${f.path}` }));
    await h.publish(ready);

    const ingested = await h.ingested.waitFor((e) => e.batch_id === 's3-1');
    expect(ingested.raw_location).toBe(`s3://${bucket}/tributary/raw/penguins/s3-1`);
    expect(ingested.raw_dvc_file).toBe(`s3://${bucket}/tributary/raw/penguins/s3-1.dvc`);
    for (const f of sample.files) {
      expect(
        (await store.getBuffer(`raw/penguins/s3-1/${f.path}`)).equals(await fs.readFile(f.absolutePath)),
      ).toBe(true);
    }

    // The dvc CLI here has no S3 plugin: copy the remote's objects down and pull from the copy.
    const remote = path.join(h.root, 'remote-copy');
    for await (const { key } of store.list('dvc/'))
      await store.download(key, path.join(remote, key.slice('dvc/'.length)));
    const repo = path.join(h.root, 'repo');
    await fs.mkdir(repo);
    expect(dvc(repo, 'init', '--no-scm').status).toBe(0);
    expect(dvc(repo, 'remote', 'add', '-d', 'store', remote).status).toBe(0);
    await store.download('raw/penguins/s3-1.dvc', path.join(repo, 's3-1.dvc'));
    const pull = dvc(repo, 'pull');
    expect(pull.status, pull.stderr).toBe(0);
    for (const f of sample.files) {
      expect(
        (await fs.readFile(path.join(repo, 's3-1', f.path))).equals(await fs.readFile(f.absolutePath)),
      ).toBe(true);
    }
  });

  it('when a batch is uploaded over HTTP onto an S3 data store, then its raw files and DVC objects are copies of the staged upload, and the staging area is emptied', async () => {
    const sample = await writeSampleBatch(path.join(h.root, 'upload'), { offset: 300, count: 12, images: 2 });
    const body = new FormData();
    for (const [k, v] of Object.entries({
      dataset: 'penguins',
      batch_id: 's3-up',
      producer: 'lab',
      contract: 'penguins@1.0.0',
    }))
      body.append(k, v);
    for (const f of sample.files) body.append('file', new Blob([await fs.readFile(f.absolutePath)]), f.path);
    const res = await h.app.http.inject({ method: 'POST', url: '/batches', payload: body });
    expect(res.statusCode).toBe(202);

    const ingested = await h.ingested.waitFor((e) => e.batch_id === 's3-up');
    for (const f of sample.files) {
      const bytes = await fs.readFile(f.absolutePath);
      const entry = ingested.files.find((e) => e.path === f.path)!;
      expect((await store.getBuffer(`raw/penguins/s3-up/${f.path}`)).equals(bytes)).toBe(true);
      expect((await store.getBuffer(`dvc/${dvcObjectKey(entry.md5)}`)).equals(bytes)).toBe(true);
      expect(entry.md5).toBe(createHash('md5').update(bytes).digest('hex'));
    }
    await waitFor(async () => {
      for await (const _ of store.list('landing/uploads/')) return undefined;
      return true;
    });
  });

  it('when an s3:// file of the batch does not exist, then the batch is rejected with ING_ERR_FILE_MISSING', async () => {
    const sample = await writeSampleBatch(path.join(h.root, 'local-2'), { offset: 280, count: 3 });
    const ready = batchReadyFor(sample, { batchId: 's3-2' });
    ready.files = ready.files.map((f) => ({ ...f, uri: `s3://${bucket}/incoming/nowhere/${f.path}` }));
    await h.publish(ready);
    const rejected = await h.rejected.waitFor((e) => e.batch_id === 's3-2');
    expect(rejected.error_code).toBe('ING_ERR_FILE_MISSING');
    expect(rejected.report_uri).toMatch(
      new RegExp(`^s3://${bucket}/tributary/reports/ingest/penguins/s3-2/`),
    );
  });
});
