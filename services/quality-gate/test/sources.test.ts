import { CreateBucketCommand, DeleteBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore, createS3Client } from '@tributary/storage';
import { stackEnv, waitFor } from '@tributary/testing';
import { gateEnv, passingBaseline, sourceRows, startGate, workspace, type RunningGate } from './harness.ts';

const S3 = {
  endpoint: stackEnv.S3_ENDPOINT,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  forcePathStyle: true,
};
const S3_ENV = { S3_ENDPOINT: stackEnv.S3_ENDPOINT, S3_ACCESS_KEY_ID: 'test', S3_SECRET_ACCESS_KEY: 'test' };
const bucket = `tributary-qg-${randomUUID()}`;
const bucketStore = createObjectStore(`s3://${bucket}`, S3);

beforeAll(async () => {
  await createS3Client(S3).send(new CreateBucketCommand({ Bucket: bucket }));
});

afterAll(async () => {
  const keys: string[] = [];
  for await (const o of bucketStore.list()) keys.push(o.key);
  if (keys.length > 0) await bucketStore.delete(keys);
  await createS3Client(S3).send(new DeleteBucketCommand({ Bucket: bucket }));
});

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

describe('quality-gate sources', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function gateOn(sources: object[], extra: Record<string, string> = {}): Promise<RunningGate> {
    const gate = await startGate(
      gateEnv({
        REFRESH_SOURCES: JSON.stringify(sources),
        BASELINE_SEED: JSON.stringify(passingBaseline()),
        ...extra,
      }),
    );
    cleanup.push(() => gate.stop());
    return gate;
  }

  it('when a source is a Parquet file, then the refresh reads it like the same rows in JSONL', async () => {
    const ws = await workspace();
    cleanup.push(() => ws.remove());
    const jsonl = await ws.source('canonical', sourceRows());
    const bytes = await ws.parquet('canonical', sourceRows());
    const parquet = {
      name: 'canonical',
      uri: pathToFileURL(path.join(ws.dir, 'canonical.parquet')).href,
      sha256: sha256(bytes),
      schema_version: '1',
    };

    const fromParquet = await gateOn([parquet], { REFRESH_STORE_URI: `${ws.storeUri}-parquet` });
    const { statusCode, run } = await fromParquet.refresh();
    expect(statusCode).toBe(200);
    expect(run).toMatchObject({ status: 'passed', failedTask: null });
    const candidate = (await ws.readStore(run.candidateUri!))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(candidate).toHaveLength(30);
    // BIGINT columns come back as numbers, not strings or BigInts.
    for (const row of candidate) {
      expect(Object.keys(row)).toEqual(['id', 'label', 'text', 'length']);
      expect(typeof row.id).toBe('number');
      expect(typeof row.length).toBe('number');
    }

    const fromJsonl = await gateOn([jsonl], { REFRESH_STORE_URI: `${ws.storeUri}-jsonl` });
    const same = (await fromJsonl.refresh()).run;
    expect(await ws.readStore(run.candidateUri!)).toBe(await ws.readStore(same.candidateUri!));
  });

  it('when a Parquet source does not match its sha256, then the run fails in ingest_sources', async () => {
    const ws = await workspace();
    cleanup.push(() => ws.remove());
    await ws.parquet('canonical', sourceRows());
    const gate = await gateOn(
      [
        {
          name: 'canonical',
          uri: pathToFileURL(path.join(ws.dir, 'canonical.parquet')).href,
          sha256: sha256('other bytes'),
          schema_version: '1',
        },
      ],
      { REFRESH_STORE_URI: ws.storeUri },
    );
    const { run } = await gate.refresh();
    expect(run).toMatchObject({ status: 'failed', failedTask: 'ingest_sources' });
    expect(run.reason).toContain('source canonical: checksum mismatch');
  });

  it('when the sources and the store are in S3 (JSONL and Parquet), then the refresh passes over both and writes its report there', async () => {
    const ws = await workspace();
    cleanup.push(() => ws.remove());
    const rows = sourceRows();
    const jsonlBody = rows
      .slice(0, 30)
      .map((r) => JSON.stringify(r))
      .join('\n');
    const parquetBytes = await ws.parquet('second', rows.slice(30));
    await bucketStore.put('sources/first.jsonl', jsonlBody);
    await bucketStore.put('sources/second.parquet', parquetBytes);
    const gate = await gateOn(
      [
        {
          name: 'first',
          uri: `s3://${bucket}/sources/first.jsonl`,
          sha256: sha256(jsonlBody),
          schema_version: '1',
        },
        {
          name: 'second',
          uri: `s3://${bucket}/sources/second.parquet`,
          sha256: sha256(parquetBytes),
          schema_version: '1',
        },
      ],
      { REFRESH_STORE_URI: `s3://${bucket}/store`, ...S3_ENV },
    );
    const { statusCode, run } = await gate.refresh();
    expect(statusCode).toBe(200);
    expect(run).toMatchObject({ status: 'passed', failedTask: null });
    expect(run.reportUri).toBe(
      `s3://${bucket}/store/candidates/eval/${run.datasetVersion}/quality_report.json`,
    );

    const report = JSON.parse(
      (
        await bucketStore.getBuffer(`store/candidates/eval/${run.datasetVersion}/quality_report.json`)
      ).toString('utf8'),
    ) as { run_id: string; passed: boolean; candidate_rows: number; coverage_gaps: string[] };
    // 60 rows over both sources, half of each stratum sampled.
    expect(report).toMatchObject({ run_id: run.runId, passed: true, candidate_rows: 30, coverage_gaps: [] });
    await waitFor(() => (gate.evaluated.messages.length > 0 ? true : undefined), {
      what: 'quality.evaluated',
    });
    const [event] = await gate.decodedEvaluated();
    expect(event).toMatchObject({ run_id: run.runId, passed: true, report_uri: run.reportUri });
    // The candidate is tagged with its dataset_version and source_hash, as the seed asks.
    const head = await createS3Client(S3).send(
      new HeadObjectCommand({
        Bucket: bucket,
        Key: `store/candidates/eval/${run.datasetVersion}/candidate.jsonl`,
      }),
    );
    expect(head.Metadata).toEqual({
      'dataset-version': run.datasetVersion,
      'source-hash': event!.source_hash,
    });
  });
});
