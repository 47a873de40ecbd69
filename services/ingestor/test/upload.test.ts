import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '@tributary/db';
import { dvcObjectKey } from '@tributary/dvc';
import type { ErrorBody } from '@tributary/errors';
import { newEventId, eventTime } from '@tributary/events';
import { FsObjectStore } from '@tributary/storage';
import { stackEnv, waitFor, writeSampleBatch, type SampleBatch } from '@tributary/testing';
import { StagedUploads } from '../src/data-access/staged-uploads.ts';
import { UriSourceFiles } from '../src/data-access/source-files.ts';
import { UPLOAD_STAGING_PREFIX } from '../src/data-access/upload-staging.ts';
import { listKeys, startHarness, type Harness } from './helpers.ts';

let h: Harness;
let store: string;

beforeAll(async () => {
  h = await startHarness('upload', {
    UPLOAD_MAX_FILE_BYTES: '20000',
    UPLOAD_MAX_BATCH_BYTES: '40000',
    UPLOAD_MAX_FILES: '8',
  });
  store = fileURLToPath(h.config.DATA_STORE_URI);
});
afterAll(async () => {
  await h?.close();
});

async function form(sample: SampleBatch, fields: Record<string, string>): Promise<FormData> {
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) body.append(k, v);
  for (const f of sample.files) body.append('file', new Blob([await fs.readFile(f.absolutePath)]), f.path);
  return body;
}

async function post(body: FormData) {
  const res = await h.app.http.inject({ method: 'POST', url: '/batches', payload: body });
  return { status: res.statusCode, body: JSON.parse(res.body) as ErrorBody & Record<string, unknown> };
}

const fields = (batchId: string) => ({
  dataset: 'penguins',
  batch_id: batchId,
  producer: 'lab-uploader',
  contract: 'penguins@1.0.0',
});

describe('ingestor: POST /batches', () => {
  it('when a producer uploads a batch, then it answers 202 with the run id, ingests the batch in that run, and GET /batches/:id reports it', async () => {
    const sample = await writeSampleBatch(path.join(h.root, 'u-1'), { count: 10, images: 3 });
    const res = await post(await form(sample, fields('upload-1')));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      batch_id: 'upload-1',
      dataset: 'penguins',
      files: 4,
      status_url: '/batches/upload-1',
    });
    const runId = res.body.run_id as string;
    expect(runId).toMatch(/^[0-9a-f]{32}$/);

    const announced = await h.ready.waitFor((e) => e.batch_id === 'upload-1');
    expect(announced).toMatchObject({ source: 'HTTP', producer: 'lab-uploader', run_id: runId });
    expect(h.ready.raw.find((m) => m.headers['traceparent']?.includes(runId))).toBeDefined();

    const ingested = await h.ingested.waitFor((e) => e.batch_id === 'upload-1');
    expect(ingested.run_id).toBe(runId);
    expect(ingested.content_hash).toBe(res.body.content_hash);
    expect(ingested.files.map((f) => [f.path, f.sha256, f.size_bytes])).toEqual(
      sample.files.map((f) => [f.path, f.sha256, f.size]),
    );
    for (const f of sample.files) {
      const copied = await fs.readFile(path.join(store, 'raw/penguins/upload-1', f.path));
      expect(copied.equals(await fs.readFile(f.absolutePath))).toBe(true);
    }
    for (const f of ingested.files) {
      const object = await fs.readFile(path.join(store, 'dvc', dvcObjectKey(f.md5)));
      expect(object.equals(await fs.readFile(path.join(store, 'raw/penguins/upload-1', f.path)))).toBe(true);
    }
    // The staged copy in the landing area goes once the batch is decided, with its digests' record.
    await waitFor(async () => ((await listKeys(store, 'landing/uploads/')).length === 0 ? true : undefined));
    expect(await h.query('SELECT key FROM staged_uploads')).toEqual([]);

    const status = await h.app.http.inject({ method: 'GET', url: '/batches/upload-1' });
    expect(status.statusCode).toBe(200);
    expect(JSON.parse(status.body)).toMatchObject({
      batch_id: 'upload-1',
      status: 'INGESTED',
      raw_location: ingested.raw_location,
      raw_md5: ingested.raw_md5,
      run_id: runId,
      attempts: [{ content_hash: ingested.content_hash, status: 'INGESTED', source: 'HTTP' }],
      files: ingested.files.map((f) => ({
        path: f.path,
        role: f.role,
        sha256: f.sha256,
        md5: f.md5,
        size_bytes: f.size_bytes,
      })),
    });
  });

  it('when the declared checksum does not match the uploaded bytes, then the upload is accepted and the batch rejected with ING_ERR_CHECKSUM_MISMATCH, visible on GET /batches/:id', async () => {
    const sample = await writeSampleBatch(path.join(h.root, 'u-2'), { offset: 20, count: 5 });
    const manifest = JSON.stringify({
      files: [{ path: 'rows.csv', sha256: 'f'.repeat(64), size: sample.files[0]!.size }],
    });
    const res = await post(await form(sample, { ...fields('upload-2'), manifest }));
    expect(res.status).toBe(202);

    const rejected = await h.rejected.waitFor((e) => e.batch_id === 'upload-2');
    expect(rejected.error_code).toBe('ING_ERR_CHECKSUM_MISMATCH');
    const status = await h.app.http.inject({ method: 'GET', url: '/batches/upload-2' });
    expect(JSON.parse(status.body)).toMatchObject({
      status: 'REJECTED',
      error_code: 'ING_ERR_CHECKSUM_MISMATCH',
      reason: expect.stringContaining('rows.csv: declared sha256 ffff') as unknown,
      report_uri: rejected.report_uri,
    });
    expect(await listKeys(store, 'raw/penguins/upload-2')).toEqual([]);
  });

  it('when a file is larger than the per-file limit, then it answers 413 ING_ERR_FILE_TOO_LARGE and keeps nothing', async () => {
    const sample = await writeSampleBatch(path.join(h.root, 'u-3'), { offset: 30, count: 3 });
    const body = await form(sample, fields('upload-3'));
    body.append('file', new Blob([Buffer.alloc(25_000, 1)]), 'images/huge.png');
    const res = await post(body);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: { code: 'ING_ERR_FILE_TOO_LARGE' } });
    expect(res.body.error.message).toContain('images/huge.png is larger than the 20000-byte limit per file');
    expect(await listKeys(store, 'landing/uploads/')).toEqual([]);
    expect((await h.app.http.inject({ method: 'GET', url: '/batches/upload-3' })).statusCode).toBe(404);
  });

  it('when the upload is larger than the per-batch limit, then it answers 413 ING_ERR_BATCH_TOO_LARGE and keeps nothing', async () => {
    const sample = await writeSampleBatch(path.join(h.root, 'u-4'), { offset: 40, count: 3 });
    const body = await form(sample, fields('upload-4'));
    for (let i = 0; i < 3; i++)
      body.append('file', new Blob([Buffer.alloc(15_000, i)]), `images/part-${i}.png`);
    const res = await post(body);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: { code: 'ING_ERR_BATCH_TOO_LARGE' } });
    expect(res.body.error.message).toContain('40000-byte limit per batch');
    expect(await listKeys(store, 'landing/uploads/')).toEqual([]);
  });

  it('when the upload has more files than allowed, then it answers 413 ING_ERR_TOO_MANY_FILES and keeps nothing', async () => {
    const sample = await writeSampleBatch(path.join(h.root, 'u-6'), { offset: 45, count: 3 });
    const body = await form(sample, fields('upload-6'));
    for (let i = 0; i < 9; i++) body.append('file', new Blob([`part ${i}\n`]), `extra/part-${i}.csv`);
    const res = await post(body);
    expect(res).toMatchObject({ status: 413, body: { error: { code: 'ING_ERR_TOO_MANY_FILES' } } });
    expect(res.body.error.message).toContain('more than 8 files');
    expect(await listKeys(store, 'landing/uploads/')).toEqual([]);
  });

  it('when a required field is missing or malformed, then it answers 400 naming it', async () => {
    const sample = await writeSampleBatch(path.join(h.root, 'u-5'), { offset: 50, count: 2 });
    const noDataset = await post(await form(sample, { batch_id: 'upload-5', contract: 'penguins@1.0.0' }));
    expect(noDataset).toMatchObject({ status: 400, body: { error: { code: 'ING_ERR_BAD_UPLOAD' } } });
    expect(noDataset.body.error.message).toContain('"dataset" is required');

    const badContract = await post(await form(sample, { ...fields('upload-5'), contract: 'penguins' }));
    expect(badContract.status).toBe(400);
    expect(badContract.body.error.message).toContain('<name>@<major.minor.patch>');

    const badId = await post(await form(sample, { ...fields('../escape') }));
    expect(badId).toMatchObject({ status: 400, body: { error: { code: 'ING_ERR_INVALID_BATCH' } } });
    expect(await listKeys(store, 'landing/uploads/')).toEqual([]);
  });

  it('when an upload names no contract, then a declared dataset follows its current contract version, and an undeclared one is refused with 400 naming the dataset', async () => {
    const sample = await writeSampleBatch(path.join(h.root, 'u-7'), { offset: 70, count: 3 });
    const { contract: _contract, ...noContract } = fields('upload-7');
    const res = await post(await form(sample, noContract));
    expect(res.status).toBe(202);
    const ingested = await h.ingested.waitFor((e) => e.batch_id === 'upload-7');
    expect(ingested.contract).toEqual({ name: 'penguins', version: '1.0.0' });

    const undeclared = await post(
      await form(sample, { ...noContract, batch_id: 'upload-8', dataset: 'walruses' }),
    );
    expect(undeclared).toMatchObject({ status: 400, body: { error: { code: 'ING_ERR_BAD_UPLOAD' } } });
    expect(undeclared.body.error.message).toBe(
      'the form field "contract" is required: dataset walruses is not declared, so it has no current contract version',
    );
    // The refused upload's files are discarded (and the ingested one's once it was decided).
    await waitFor(async () => ((await listKeys(store, 'landing/uploads/')).length === 0 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'no staged upload left',
    });
  });

  it('when the batch id is unknown, then GET /batches/:id answers 404', async () => {
    const res = await h.app.http.inject({ method: 'GET', url: '/batches/never-seen' });
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'ING_ERR_UNKNOWN_BATCH' } });
  });

  it('when an upload is staged, then its digests are recorded and its ingest takes the staged object as it is, and a staged object without a record is read and hashed', async () => {
    const sample = await writeSampleBatch(path.join(h.root, 'u-staged'), { offset: 40, count: 4 });
    const file = sample.files[0]!;
    const dataStore = new FsObjectStore(store);
    const pool = createPool({ url: stackEnv.DATABASE_URL, schema: h.config.DATABASE_SCHEMA! });
    const uploads = new StagedUploads(pool);
    const sources = new UriSourceFiles({
      allowedRoots: [store],
      s3: {},
      workRoot: path.join(h.root, 'scratch'),
      dataStore,
      stagingPrefix: UPLOAD_STAGING_PREFIX,
      stagedUploads: uploads,
    });
    const key = `${UPLOAD_STAGING_PREFIX}by-hand/${file.path}`;
    await dataStore.putFile(key, file.absolutePath);
    const uri = `${dataStore.uri}/${key}`;
    const target = path.join(h.root, 'scratch-copy.csv');
    try {
      // No record (staged by an older release): read from the store, hashed, copied to scratch.
      const read = await sources.stage(uri, target);
      expect(read).toMatchObject({ at: { localPath: target }, sha256: file.sha256, size: file.size });
      expect((await fs.readFile(target)).equals(await fs.readFile(file.absolutePath))).toBe(true);

      await uploads.record(key, { sha256: read.sha256, md5: read.md5, size: read.size });
      expect(await sources.stage(uri, path.join(h.root, 'unused.csv'))).toEqual({
        at: { stagedKey: key },
        ...(({ at: _at, ...d }) => d)(read),
      });
      await expect(fs.access(path.join(h.root, 'unused.csv'))).rejects.toMatchObject({ code: 'ENOENT' });

      await sources.releaseStaged([uri]);
      expect(await uploads.find(key)).toBeUndefined();
      expect(await dataStore.exists(key)).toBe(false);
    } finally {
      await pool.end();
    }
  });

  it('when a batch.ready names a staged upload that has no digest record, then it is ingested from the bytes it has', async () => {
    const sample = await writeSampleBatch(path.join(h.root, 'u-legacy'), { offset: 50, count: 3 });
    const file = sample.files[0]!;
    const key = `${UPLOAD_STAGING_PREFIX}legacy/${file.path}`;
    const dataStore = new FsObjectStore(store);
    await dataStore.putFile(key, file.absolutePath);
    await h.publish({
      event_id: newEventId(),
      occurred_at: eventTime(new Date()),
      run_id: 'c'.repeat(32),
      dataset: 'penguins',
      batch_id: 'upload-legacy',
      producer: 'lab-uploader',
      source: 'HTTP',
      contract: { name: 'penguins', version: '1.0.0' },
      files: [
        {
          path: file.path,
          uri: `${dataStore.uri}/${key}`,
          role: 'TABLE',
          sha256: file.sha256,
          size_bytes: file.size,
          schema_version: null,
        },
      ],
      attributes: {},
    });

    const ingested = await h.ingested.waitFor((e) => e.batch_id === 'upload-legacy');
    expect(ingested.files.map((f) => [f.path, f.sha256, f.size_bytes])).toEqual([
      [file.path, file.sha256, file.size],
    ]);
    const copied = await fs.readFile(path.join(store, 'raw/penguins/upload-legacy', file.path));
    expect(copied.equals(await fs.readFile(file.absolutePath))).toBe(true);
  });
});
