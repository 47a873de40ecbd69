import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { createHash, randomUUID } from 'node:crypto';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createPool } from '@tributary/db';
import { dirObjectJson, dvcObjectKey, masterVersionKey, md5Buffer } from '@tributary/dvc';
import { masterVersioned, newEventId } from '@tributary/events';
import { masterVersionedFixture } from '@tributary/events/fixtures';
import { createObjectStore, createS3Client, objectUri, type ObjectStore } from '@tributary/storage';
import { stackEnv, stackS3, stackS3Env, waitFor } from '@tributary/testing';
import { loadServiceConfig } from '../src/config.ts';
import {
  gateEnv,
  gateProducer,
  passingBaseline,
  sourceRows,
  startGate,
  workspace,
  type Workspace,
} from './harness.ts';

const MASTER_SOURCE = { name: 'master', master: true, schema_version: '1' };

interface Report {
  source_hash: string;
  candidate_rows: number;
  sources: { name: string; checksum: string; rows: number; master_version?: number; location?: string }[];
}

/** A master version as the preprocessor stores it, and what its master.versioned announces. */
interface BuiltMaster {
  version: number;
  location: string;
  checksum: string;
  rows: number;
  /** Store keys of its Parquet parts' DVC objects, in relpath order. */
  partKeys: string[];
}

/** Rows only a master holds: the canonical rows marked with their batch (the master's `_batch_id`). */
function masterRows(batch: string): Record<string, unknown>[] {
  return sourceRows().map((r) => ({ ...r, text: `${String(r.text)} ${batch}`, _batch_id: batch }));
}

/**
 * Lays out master version `version` of `eval` in `store` the way the preprocessor does
 * (docs/data-pipeline.md, "Store layout"): each part and image as a DVC object under `dvc/`, and the
 * `.dir` object listing them, whose md5 (plus `.dir`) is the version's checksum.
 */
async function writeMaster(
  ws: Workspace,
  store: ObjectStore,
  version: number,
  parts: Record<string, unknown>[][],
  /** `legacy`: named as versions were before they carried their dataset's name (`master/eval/v<N>`). */
  naming: 'current' | 'legacy' = 'current',
): Promise<BuiltMaster> {
  const entries: { relpath: string; md5: string }[] = [];
  const put = async (relpath: string, bytes: Buffer | string) => {
    const md5 = md5Buffer(bytes);
    await store.put(`dvc/${dvcObjectKey(md5)}`, bytes);
    entries.push({ relpath, md5 });
    return `dvc/${dvcObjectKey(md5)}`;
  };
  const partKeys: string[] = [];
  for (const [i, rows] of parts.entries()) {
    partKeys.push(
      await put(`parts/part-${String(i + 1).padStart(8, '0')}.parquet`, await ws.parquet(randomUUID(), rows)),
    );
  }
  // Not a part: the reader must leave it out.
  await put('images/0f.png', 'not rows');
  const json = dirObjectJson(entries);
  const checksum = `${md5Buffer(json)}.dir`;
  await store.put(`dvc/${dvcObjectKey(checksum)}`, json);
  return {
    version,
    location: objectUri(
      store,
      naming === 'legacy' ? `master/eval/v${version}` : masterVersionKey('eval', version),
    ),
    checksum,
    rows: parts.reduce((n, p) => n + p.length, 0),
    partKeys,
  };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('quality-gate master source', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function setup(extra: Record<string, string>, sources: object[] = [MASTER_SOURCE]) {
    const ws = await workspace();
    cleanup.push(() => ws.remove());
    const data = createObjectStore(path.join(ws.dir, 'data'));
    const gate = await startGate(
      gateEnv({
        REFRESH_STORE_URI: ws.storeUri,
        REFRESH_SOURCES: JSON.stringify(sources),
        BASELINE_SEED: JSON.stringify(passingBaseline()),
        // The candidate is the master's rows as they are, so the test can recognise them.
        SAMPLE_FRACTION: '1',
        AUGMENT_TEXT_DROPOUT: '0',
        ...extra,
      }),
    );
    cleanup.push(() => gate.stop());
    const producer = await gateProducer(gate, cleanup);
    const pool = createPool({ url: stackEnv.DATABASE_URL, schema: gate.env.DATABASE_SCHEMA! });
    cleanup.push(() => pool.end());
    return {
      ws,
      data,
      gate,
      announce: (m: BuiltMaster) =>
        producer.publish(masterVersioned, {
          ...masterVersionedFixture,
          event_id: newEventId(),
          dataset: 'eval',
          master_version: m.version,
          previous_version: m.version - 1,
          location: m.location,
          dvc_file: `${m.location}.dvc`,
          checksum: m.checksum,
          row_count: m.rows,
        }),
      /** Waits until the gate recorded `count` master versions. */
      seen: (count: number) =>
        waitFor(
          async () => {
            const { rows } = await pool.query<{ n: number }>(
              'SELECT count(*)::int AS n FROM master_versions',
            );
            return rows[0]!.n >= count ? true : undefined;
          },
          { what: `${count} master versions recorded`, timeoutMs: 30_000 },
        ),
    };
  }

  async function candidateOf(ws: Workspace, uri: string): Promise<Record<string, unknown>[]> {
    return (await ws.readStore(uri))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it('when master.versioned triggers a run with a master source, then the candidate is built from that master version', async () => {
    const { ws, data, gate, announce } = await setup({ REFRESH_ON_MASTER_VERSIONED: 'true' });
    const master = await writeMaster(ws, data, 1, [
      masterRows('b-1').slice(0, 30),
      masterRows('b-2').slice(30),
    ]);
    await announce(master);
    const run = await waitFor(async () => (await gate.runs()).find((r) => r.status !== 'running'), {
      what: 'refresh after master.versioned',
      timeoutMs: 30_000,
    });
    expect(run).toMatchObject({ trigger: 'MASTER_VERSIONED', masterVersion: 1, status: 'passed' });

    const candidate = await candidateOf(ws, run.candidateUri!);
    expect(candidate).toHaveLength(60);
    // Both parts, in relpath order, with the master's own column.
    expect(candidate.map((r) => r._batch_id)).toEqual([
      ...Array<string>(30).fill('b-1'),
      ...Array<string>(30).fill('b-2'),
    ]);
    expect(candidate[0]!.text).toMatch(/ b-1$/);

    const report = JSON.parse(await ws.readStore(run.reportUri!)) as Report;
    expect(report.candidate_rows).toBe(60);
    expect(report.source_hash).toBe(sha256(`master:${master.checksum}`));
    expect(report.sources).toEqual([
      { name: 'master', checksum: master.checksum, rows: 60, master_version: 1, location: master.location },
    ]);
    await gate.evaluated.waitForMessages(1);
    const [event] = await gate.decodedEvaluated();
    expect(event).toMatchObject({
      master_version: 1,
      source_hash: report.source_hash,
      candidate_rows: 60,
      passed: true,
    });
  });

  it('when a manual run follows master versions seen without the trigger, then it reads the latest one and records it', async () => {
    // The two batches repeat the same sentences: diversity is not what this test is about.
    const { ws, data, gate, announce, seen } = await setup({ GATE_MIN_DIVERSITY: '0' });
    const first = await writeMaster(ws, data, 1, [masterRows('b-1')]);
    const second = await writeMaster(ws, data, 2, [masterRows('b-1'), masterRows('b-2')]);
    await announce(first);
    await announce(second);
    // A redelivery of an older version does not make it the latest.
    await announce(first);
    await seen(2);
    // REFRESH_ON_MASTER_VERSIONED is off: the versions were recorded, no run started.
    expect(await gate.runs()).toEqual([]);

    const { statusCode, run } = await gate.refresh();
    expect(run.reason).toBeNull();
    expect(statusCode).toBe(200);
    expect(run).toMatchObject({ trigger: 'MANUAL', masterVersion: 2, status: 'passed' });
    const candidate = await candidateOf(ws, run.candidateUri!);
    expect(candidate).toHaveLength(120);
    expect(candidate.filter((r) => r._batch_id === 'b-2')).toHaveLength(60);
    const report = JSON.parse(await ws.readStore(run.reportUri!)) as Report;
    expect(report.sources[0]).toMatchObject({ checksum: second.checksum, master_version: 2 });
    expect(report.source_hash).toBe(sha256(`master:${second.checksum}`));
  });

  it('when a run with a master source is retried after a newer version was seen, then the retry reads the version of its first attempt', async () => {
    const files = await workspace();
    cleanup.push(() => files.remove());
    const file = await files.source('canonical', sourceRows().slice(0, 3));
    const later = `${fileURLToPath(file.uri)}.later`;
    await rename(fileURLToPath(file.uri), later);
    const { ws, data, gate, announce, seen } = await setup(
      { REFRESH_RETRY_DELAYS_MS: '500', REFRESH_RETRY_POLL_MS: '100' },
      [MASTER_SOURCE, file],
    );
    // Version 1 predates dataset-named versions: it stays readable.
    const first = await writeMaster(ws, data, 1, [masterRows('b-1')], 'legacy');
    await announce(first);
    await seen(1);
    const { statusCode, run } = await gate.refresh();
    expect(statusCode).toBe(202);
    expect(run).toMatchObject({ status: 'retrying', masterVersion: 1 });

    await announce(await writeMaster(ws, data, 2, [masterRows('b-1'), masterRows('b-2')]));
    await seen(2);
    await rename(later, fileURLToPath(file.uri));
    const done = await waitFor(
      async () => {
        const r = await gate.run(run.datasetVersion);
        return r.status === 'passed' || r.status === 'failed' ? r : undefined;
      },
      { what: 'retried run', timeoutMs: 20_000 },
    );
    expect(done).toMatchObject({ status: 'passed', attempt: 2, masterVersion: 1 });
    const report = JSON.parse(await ws.readStore(done.reportUri!)) as Report;
    expect(report.candidate_rows).toBe(63);
    expect(report.sources.map((s) => [s.name, s.checksum])).toEqual([
      ['master', first.checksum],
      ['canonical', file.sha256],
    ]);
  });

  it('when a part of the master version was changed, then the run fails in ingest_sources naming the version', async () => {
    const { ws, data, gate, announce, seen } = await setup({});
    const master = await writeMaster(ws, data, 3, [masterRows('b-1'), masterRows('b-2')]);
    await announce(master);
    await seen(1);
    // Still valid Parquet, but not the bytes the .dir object lists.
    const [, second] = master.partKeys;
    await data.put(second!, await ws.parquet(randomUUID(), masterRows('b-x')));

    const { statusCode, run } = await gate.refresh();
    expect(statusCode).toBe(422);
    expect(run).toMatchObject({
      status: 'failed',
      attempt: 1,
      failedTask: 'ingest_sources',
      masterVersion: 3,
    });
    expect(run.reason).toContain('source master: master version 3 of eval: parts/part-00000002.parquet');
    expect(run.reason).toContain(`checksum mismatch (expected md5 ${second!.split('/').slice(-2).join('')}`);
    expect(run.candidateUri).toBeNull();
  });

  it('when the announced row count is not what the version holds, then the run fails in ingest_sources naming both', async () => {
    const { ws, data, gate, announce, seen } = await setup({});
    const master = await writeMaster(ws, data, 4, [masterRows('b-1')]);
    await announce({ ...master, rows: master.rows + 1 });
    await seen(1);

    const { statusCode, run } = await gate.refresh();
    expect(statusCode).toBe(422);
    expect(run).toMatchObject({ status: 'failed', failedTask: 'ingest_sources', masterVersion: 4 });
    expect(run.reason).toBe(
      `source master: master version 4 of eval holds ${master.rows} rows, but master.versioned announced ${master.rows + 1}`,
    );
  });

  it('when a manual run has a master source and no master version was seen, then it fails naming the dataset', async () => {
    const { gate } = await setup({});
    const { statusCode, run } = await gate.refresh();
    expect(statusCode).toBe(422);
    expect(run).toMatchObject({
      status: 'failed',
      attempt: 1,
      failedTask: 'ingest_sources',
      masterVersion: null,
    });
    expect(run.reason).toBe('source master: no master version of eval has been seen yet');
    await gate.evaluated.waitForMessages(1);
    expect(await gate.decodedEvaluated()).toEqual([
      expect.objectContaining({ status: 'TASK_FAILED', failure_reason: run.reason, source_hash: '' }),
    ]);
  });

  it('when a master source also names a file or is given twice, then the settings are refused', () => {
    const load = (sources: object[]) =>
      loadServiceConfig(
        gateEnv({ REFRESH_STORE_URI: 'file:///tmp/qg', REFRESH_SOURCES: JSON.stringify(sources) }),
      );
    const file = { name: 'f', uri: 'file:///tmp/f.jsonl', sha256: '0'.repeat(64), schema_version: '1' };
    expect(load([MASTER_SOURCE, file]).REFRESH_SOURCES).toEqual([MASTER_SOURCE, file]);
    expect(() => load([{ ...file, master: true }])).toThrow(/REFRESH_SOURCES/);
    expect(() => load([MASTER_SOURCE, { ...MASTER_SOURCE, name: 'again' }])).toThrow(
      /at most one master source/,
    );
  });

  it('when the master version is in S3, then the run reads its parts from there', async () => {
    const bucket = `tributary-qg-master-${randomUUID()}`;
    const s3 = createS3Client(stackS3);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const data = createObjectStore(`s3://${bucket}/data`, stackS3);
    cleanup.push(async () => {
      const keys: string[] = [];
      for await (const o of data.list()) keys.push(o.key);
      if (keys.length > 0) await data.delete(keys);
      await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    });
    const { ws, gate, announce, seen } = await setup({ ...stackS3Env });
    const master = await writeMaster(ws, data, 5, [masterRows('b-s3')]);
    expect(master.location).toBe(`s3://${bucket}/data/master/eval/eval-v5`);
    await announce(master);
    await seen(1);
    const { statusCode, run } = await gate.refresh();
    expect(statusCode).toBe(200);
    expect(run).toMatchObject({ masterVersion: 5, status: 'passed' });
    const candidate = await candidateOf(ws, run.candidateUri!);
    expect(new Set(candidate.map((r) => r._batch_id))).toEqual(new Set(['b-s3']));
  });
});
