import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEventId } from '@tributary/events';
import { batchReadyFor, writeSampleBatch } from '@tributary/testing';
import { batchContentHash } from '@tributary/events/content-hash';
import { dvc, listKeys, startHarness, type Harness } from './helpers.ts';

let h: Harness;
let store: string;
const sources = () => path.join(h.root, 'sources');

beforeAll(async () => {
  h = await startHarness('ingest');
  store = fileURLToPath(h.config.DATA_STORE_URI);
});
afterAll(async () => {
  await h?.close();
});

interface BatchRow {
  id: string;
  status: string;
  content_hash: string;
  raw_md5: string | null;
  raw_location: string | null;
  run_id: string;
  error_code: string | null;
  reason: string | null;
  report_uri: string | null;
}

async function row(batchId: string): Promise<BatchRow | undefined> {
  return (await h.query<BatchRow>('SELECT * FROM batches WHERE id = $1', [batchId]))[0];
}

describe('ingestor: batch.ready from Kafka', () => {
  it('when a producer publishes batch.ready, then the batch is copied to raw, recorded, and batch.ingested is emitted once with its checksums', async () => {
    const sample = await writeSampleBatch(path.join(sources(), 'b-1'), { count: 12, images: 3 });
    const ready = batchReadyFor(sample, { batchId: 'penguins-b-1' });
    await h.publish(ready);

    const event = await h.ingested.waitFor((e) => e.batch_id === 'penguins-b-1');
    expect(event).toMatchObject({
      dataset: 'penguins',
      producer: 'field-team',
      contract: { name: 'penguins', version: '1.0.0' },
      content_hash: batchContentHash(ready.files),
      raw_location: pathToFileURL(path.join(store, 'raw/penguins/penguins-b-1')).href,
      raw_dvc_file: pathToFileURL(path.join(store, 'raw/penguins/penguins-b-1.dvc')).href,
    });
    expect(event.raw_md5).toMatch(/^[0-9a-f]{32}\.dir$/);
    expect(event.run_id).toMatch(/^[0-9a-f]{32}$/);
    expect(event.files).toEqual(
      sample.files.map((f) => ({
        path: f.path,
        role: f.role,
        sha256: f.sha256,
        md5: f.md5,
        size_bytes: f.size,
        schema_version: f.role === 'TABLE' ? '1.0.0' : null,
      })),
    );
    for (const f of sample.files) {
      const copied = await fs.readFile(path.join(store, 'raw/penguins/penguins-b-1', f.path));
      expect(copied.equals(await fs.readFile(f.absolutePath))).toBe(true);
    }
    expect(await listKeys(store, 'raw/penguins/penguins-b-1')).toEqual([
      'raw/penguins/penguins-b-1.dvc',
      ...sample.files.map((f) => `raw/penguins/penguins-b-1/${f.path}`).sort(),
    ]);
    expect(await row('penguins-b-1')).toMatchObject({
      status: 'INGESTED',
      content_hash: event.content_hash,
      raw_md5: event.raw_md5,
      raw_location: event.raw_location,
      run_id: event.run_id,
    });
  });

  it('when the real dvc CLI pulls a raw batch from the store’s dvc/ remote, then it restores the files byte for byte and reports a clean status', async () => {
    const sample = await writeSampleBatch(path.join(sources(), 'b-2'), { offset: 40, count: 30, images: 5 });
    await h.publish(batchReadyFor(sample, { batchId: '2026-11-23' }));
    await h.ingested.waitFor((e) => e.batch_id === '2026-11-23');

    const repo = path.join(h.root, 'dvc-repo');
    await fs.mkdir(repo);
    const run = (...args: string[]) => {
      const r = dvc(repo, ...args);
      expect(r.status, `dvc ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    run('init', '--no-scm');
    run('remote', 'add', '-d', 'store', path.join(store, 'dvc'));
    await fs.copyFile(path.join(store, 'raw/penguins/2026-11-23.dvc'), path.join(repo, '2026-11-23.dvc'));
    run('pull');
    for (const f of sample.files) {
      const pulled = await fs.readFile(path.join(repo, '2026-11-23', f.path));
      expect(pulled.equals(await fs.readFile(f.absolutePath)), f.path).toBe(true);
    }
    expect(run('status')).toMatch(/up to date/i);
  });

  it('when the same batch.ready is delivered twice, or announced again with a new event id, then it is ingested once', async () => {
    const sample = await writeSampleBatch(path.join(sources(), 'b-3'), { offset: 100, count: 5 });
    const ready = batchReadyFor(sample, { batchId: 'penguins-b-3' });
    await h.publish(ready);
    await h.publish(ready);
    await h.publish({ ...ready, event_id: newEventId(), source: 'HTTP' });
    // A marker batch published after the duplicates: once it is ingested, the duplicates were handled.
    const marker = await writeSampleBatch(path.join(sources(), 'b-3-marker'), { offset: 110, count: 2 });
    await h.publish(batchReadyFor(marker, { batchId: 'penguins-b-3-marker' }));
    await h.ingested.waitFor((e) => e.batch_id === 'penguins-b-3-marker');
    await h.settled(); // the outbox relay would have published a duplicate by now

    expect(await h.ingested.count((e) => e.batch_id === 'penguins-b-3')).toBe(1);
    expect(await h.rejected.count((e) => e.batch_id === 'penguins-b-3')).toBe(0);
    expect(await row('penguins-b-3')).toMatchObject({ status: 'INGESTED' });
  });

  it('when a batch id that was ingested comes again with different content, then it is refused once with ING_ERR_BATCH_CONFLICT and the ingested batch stays', async () => {
    const first = await writeSampleBatch(path.join(sources(), 'b-4'), { offset: 120, count: 5 });
    await h.publish(batchReadyFor(first, { batchId: 'penguins-b-4' }));
    const ingested = await h.ingested.waitFor((e) => e.batch_id === 'penguins-b-4');
    const before = await listKeys(store, 'raw/penguins/penguins-b-4/');
    const dvcFile = await fs.readFile(path.join(store, 'raw/penguins/penguins-b-4.dvc'), 'utf8');

    const other = await writeSampleBatch(path.join(sources(), 'b-4-other'), { offset: 130, count: 5 });
    const conflicting = batchReadyFor(other, { batchId: 'penguins-b-4' });
    await h.publish(conflicting);
    await h.publish({ ...conflicting, event_id: newEventId() });

    const rejected = await h.rejected.waitFor((e) => e.batch_id === 'penguins-b-4');
    expect(rejected).toMatchObject({ stage: 'INGEST', error_code: 'ING_ERR_BATCH_CONFLICT', partial: false });
    expect(rejected.reason).toContain(ingested.content_hash);
    expect(rejected.report_uri).not.toBeNull();
    const report = JSON.parse(await fs.readFile(fileURLToPath(rejected.report_uri!), 'utf8')) as {
      error_code: string;
    };
    expect(report.error_code).toBe('ING_ERR_BATCH_CONFLICT');

    const marker = await writeSampleBatch(path.join(sources(), 'b-4-marker'), { offset: 140, count: 2 });
    await h.publish(batchReadyFor(marker, { batchId: 'penguins-b-4-marker' }));
    await h.ingested.waitFor((e) => e.batch_id === 'penguins-b-4-marker');
    await h.settled();
    expect(await h.rejected.count((e) => e.batch_id === 'penguins-b-4')).toBe(1);
    expect(await h.ingested.count((e) => e.batch_id === 'penguins-b-4')).toBe(1);
    expect(await row('penguins-b-4')).toMatchObject({
      status: 'INGESTED',
      content_hash: ingested.content_hash,
    });
    expect(await listKeys(store, 'raw/penguins/penguins-b-4/')).toEqual(before);
    expect(await fs.readFile(path.join(store, 'raw/penguins/penguins-b-4.dvc'), 'utf8')).toBe(dvcFile);
  });

  it('when other content comes under a batch id whose ingest is under way, then it is refused as a conflict; once that ingest is stale, it takes the id over', async () => {
    // An ingest of other content holds the id, as a replica in the middle of copying would leave it.
    const hold = (batchId: string, age: string) =>
      h.query(
        `INSERT INTO batches (id, dataset, producer, source, contract_name, contract_version, content_hash, status, run_id, updated_at)
         VALUES ($1, 'penguins', 'tests', 'KAFKA', 'penguins', '1.0.0', $2, 'INGESTING', 'run-0', now() - $3::interval)`,
        [batchId, 'f'.repeat(64), age],
      );
    await hold('penguins-b-7', '1 minute');
    const live = await writeSampleBatch(path.join(sources(), 'b-7'), { offset: 230, count: 3 });
    await h.publish(batchReadyFor(live, { batchId: 'penguins-b-7' }));
    const rejected = await h.rejected.waitFor((e) => e.batch_id === 'penguins-b-7');
    expect(rejected).toMatchObject({ stage: 'INGEST', error_code: 'ING_ERR_BATCH_CONFLICT' });
    expect(rejected.reason).toContain(`is being ingested into penguins with content ${'f'.repeat(64)}`);
    expect(await row('penguins-b-7')).toMatchObject({ status: 'INGESTING', content_hash: 'f'.repeat(64) });

    // Older than INGEST_TAKEOVER_AFTER_MS (15 min by default): the replica is taken to be dead.
    await hold('penguins-b-8', '1 hour');
    const stale = await writeSampleBatch(path.join(sources(), 'b-8'), { offset: 240, count: 3 });
    await h.publish(batchReadyFor(stale, { batchId: 'penguins-b-8' }));
    const ingested = await h.ingested.waitFor((e) => e.batch_id === 'penguins-b-8');
    expect(await row('penguins-b-8')).toMatchObject({
      status: 'INGESTED',
      content_hash: ingested.content_hash,
    });
    expect(await h.rejected.count((e) => e.batch_id === 'penguins-b-8')).toBe(0);
  });

  it.each([
    {
      problem: 'a checksum that does not match the bytes',
      code: 'ING_ERR_CHECKSUM_MISMATCH',
      reason: /rows\.csv: declared sha256 0{64} but the file hashes to [0-9a-f]{64}/,
      change: (r: ReturnType<typeof batchReadyFor>) => {
        r.files[0]!.sha256 = '0'.repeat(64);
      },
    },
    {
      problem: 'a missing file',
      code: 'ING_ERR_FILE_MISSING',
      reason: /images\/P0151\.png: no file at file:\/\/.*gone\.png/,
      change: (r: ReturnType<typeof batchReadyFor>) => {
        r.files[1]!.uri = r.files[1]!.uri.replace(/[^/]+$/, 'gone.png');
      },
    },
    {
      problem: 'a contract version its dataset does not accept',
      code: 'ING_ERR_CONTRACT_NOT_ACCEPTED',
      reason:
        /^dataset penguins does not accept contract penguins@9\.9\.9: its declaration accepts penguins@1\.0\.0$/,
      change: (r: ReturnType<typeof batchReadyFor>) => {
        r.contract = { name: 'penguins', version: '9.9.9' };
      },
    },
    {
      problem: 'a contract of another dataset',
      code: 'ING_ERR_CONTRACT_NOT_ACCEPTED',
      reason:
        /^dataset penguins does not accept contract flights@1\.0\.0: its declaration accepts penguins@1\.0\.0$/,
      change: (r: ReturnType<typeof batchReadyFor>) => {
        r.contract = { name: 'flights', version: '1.0.0' };
      },
      suffix: '-flights',
    },
    {
      problem: 'a schema version that is not the contract’s',
      code: 'ING_ERR_SCHEMA_VERSION_MISMATCH',
      reason: /rows\.csv: declares schema version 0\.9\.0 but contract penguins is at 1\.0\.0/,
      change: (r: ReturnType<typeof batchReadyFor>) => {
        r.files[0]!.schema_version = '0.9.0';
      },
    },
  ])(
    'when a batch has $problem, then it is rejected with $code and a report, and nothing is written to raw',
    async ({ code, reason, change, ...rest }) => {
      const suffix = 'suffix' in rest ? rest.suffix : '';
      const batchId = `penguins-bad-${code.toLowerCase().replaceAll('_', '-')}${suffix}`;
      const sample = await writeSampleBatch(path.join(sources(), batchId), {
        offset: 150,
        count: 4,
        images: 2,
      });
      const ready = batchReadyFor(sample, { batchId });
      change(ready);
      await h.publish(ready);

      const rejected = await h.rejected.waitFor((e) => e.batch_id === batchId);
      expect(rejected).toMatchObject({
        stage: 'INGEST',
        error_code: code,
        dataset: 'penguins',
        producer: 'field-team',
      });
      expect(rejected.reason).toMatch(reason);
      const report = JSON.parse(await fs.readFile(fileURLToPath(rejected.report_uri!), 'utf8')) as {
        problems: { code: string }[];
      };
      expect(report.problems.map((p) => p.code)).toContain(code);
      expect(await listKeys(store, `raw/penguins/${batchId}`)).toEqual([]);
      expect(await row(batchId)).toMatchObject({
        status: 'REJECTED',
        error_code: code,
        report_uri: rejected.report_uri,
      });
      expect(await h.ingested.count((e) => e.batch_id === batchId)).toBe(0);
    },
  );

  it('when an earlier attempt died between writing raw and recording the batch, then the redelivery takes over and emits batch.ingested once, leaving no stale files', async () => {
    const sample = await writeSampleBatch(path.join(sources(), 'b-5'), { offset: 200, count: 6 });
    const ready = batchReadyFor(sample, { batchId: 'penguins-b-5' });
    // The state such a crash leaves: the id claimed (INGESTING), a partial raw folder, no event.
    await h.query(
      `INSERT INTO batches (id, dataset, producer, source, contract_name, contract_version, content_hash, status, run_id)
       VALUES ($1, 'penguins', 'field-team', 'KAFKA', 'penguins', '1.0.0', $2, 'INGESTING', 'dead-run')`,
      ['penguins-b-5', batchContentHash(ready.files)],
    );
    await fs.mkdir(path.join(store, 'raw/penguins/penguins-b-5'), { recursive: true });
    await fs.writeFile(path.join(store, 'raw/penguins/penguins-b-5/left-over.csv'), 'partial');

    await h.publish(ready);
    await h.ingested.waitFor((e) => e.batch_id === 'penguins-b-5');
    await h.settled();
    expect(await h.ingested.count((e) => e.batch_id === 'penguins-b-5')).toBe(1);
    expect(await listKeys(store, 'raw/penguins/penguins-b-5/')).toEqual([
      'raw/penguins/penguins-b-5/rows.csv',
    ]);
    expect(await row('penguins-b-5')).toMatchObject({ status: 'INGESTED' });
  });

  it('when a batch names a dataset that is not declared, then it is rejected with ING_ERR_UNDECLARED_DATASET naming the dataset and the declaration to apply, and nothing is written to raw', async () => {
    const sample = await writeSampleBatch(path.join(sources(), 'walrus-1'), { offset: 260, count: 3 });
    await h.publish(batchReadyFor(sample, { batchId: 'walruses-1', dataset: 'walruses' }));
    const rejected = await h.rejected.waitFor((e) => e.batch_id === 'walruses-1');
    expect(rejected).toMatchObject({
      stage: 'INGEST',
      dataset: 'walruses',
      error_code: 'ING_ERR_UNDECLARED_DATASET',
      reason: 'dataset walruses is not declared; apply datasets/walruses.yaml (tributary datasets apply)',
    });
    expect(await listKeys(store, 'raw/walruses')).toEqual([]);
    expect(await row('walruses-1')).toMatchObject({
      status: 'REJECTED',
      error_code: 'ING_ERR_UNDECLARED_DATASET',
    });
  });

  it('when batch.ready points at a local file outside the allowed folders, then it is rejected with ING_ERR_SOURCE_NOT_ALLOWED', async () => {
    const outside = await writeSampleBatch(path.join(h.root, 'elsewhere'), { offset: 210, count: 2 });
    await h.publish(batchReadyFor(outside, { batchId: 'penguins-b-6' }));
    const rejected = await h.rejected.waitFor((e) => e.batch_id === 'penguins-b-6');
    expect(rejected.error_code).toBe('ING_ERR_SOURCE_NOT_ALLOWED');
  });
});
