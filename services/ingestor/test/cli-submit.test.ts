import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchRejected, masterVersioned, newEventId, type BatchIngested } from '@tributary/events';
import { batchRejectedFixture, masterVersionedFixture } from '@tributary/events/fixtures';
import { runTributary, writeSampleBatch, type SampleBatch } from '@tributary/testing';
import { startHarness, type Harness } from './helpers.ts';

let h: Harness;
let url: string;

beforeAll(async () => {
  h = await startHarness('cli', { UPLOAD_MAX_FILE_BYTES: '20000' });
  url = await h.app.http.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await h?.close();
});

/** Runs the tributary command line as a user would, without blocking the in-process ingestor. */
const tributary = (...args: string[]) => runTributary(args);

/** `tributary submit <dir>` of a penguins batch to the test's ingestor. */
function submit(dir: string, opts: { contract?: string; wait?: boolean; untilMerged?: boolean } = {}) {
  return tributary(
    'submit',
    dir,
    '--dataset',
    'penguins',
    '--contract',
    opts.contract ?? 'penguins@1.0.0',
    '--url',
    url,
    ...(opts.wait === true ? ['--wait'] : []),
    ...(opts.untilMerged === true ? ['--wait', '--until', 'merged'] : []),
  );
}

describe('tributary submit', () => {
  it('when a producer submits a folder, then the CLI uploads it, prints the batch id, run id and status URL, and --wait ends once it is ingested', async () => {
    const dir = path.join(h.root, 'to-submit');
    const sample = await writeSampleBatch(dir, { offset: 60, count: 15, images: 2 });
    await fs.writeFile(path.join(dir, '.DS_Store'), 'ignored');

    const run = await submit(dir, { wait: true });
    expect(run.code, run.stderr).toBe(0);
    const batchId = /^batch (\S+) submitted to penguins \(3 files, \d+ bytes\)$/m.exec(run.stdout)?.[1];
    const runId = /^run id:\s+([0-9a-f]{32})$/m.exec(run.stdout)?.[1];
    expect(batchId).toMatch(/^penguins-[0-9a-f]{16}$/);
    expect(run.stdout).toContain(`status:       ${url}/batches/${batchId}`);
    expect(run.stdout).toContain(`trace:        ${runId}`);
    expect(run.stdout).toMatch(/^ingested: file:\/\/.*\/raw\/penguins\/penguins-[0-9a-f]{16}$/m);

    const ingested = await h.ingested.waitFor((e) => e.batch_id === batchId);
    expect(ingested.run_id).toBe(runId);
    expect(ingested.producer).not.toBe('');
    const byPath = (a: string[], b: string[]) => (a[0]! < b[0]! ? -1 : 1);
    expect(ingested.files.map((f) => [f.path, f.sha256]).sort(byPath)).toEqual(
      sample.files.map((f) => [f.path, f.sha256]).sort(byPath),
    );
    const announced = await h.ready.waitFor((e) => e.batch_id === batchId);
    expect(announced.source).toBe('CLI');

    // Submitting the same folder again is idempotent: same batch id, acknowledged, not re-ingested.
    const again = await submit(dir, { wait: true });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`batch ${batchId} submitted`);
    await h.ready.waitFor((e) => e.batch_id === batchId && e.event_id !== announced.event_id);
    await h.settled();
    expect(await h.ingested.count((e) => e.batch_id === batchId)).toBe(1);
  });

  it('when a file is over the ingestor’s limit, then the CLI exits non-zero with the 413 and its reason', async () => {
    const dir = path.join(h.root, 'too-big');
    await writeSampleBatch(dir, { offset: 90, count: 3 });
    await fs.writeFile(path.join(dir, 'huge.csv'), Buffer.alloc(50_000, 65));

    const run = await submit(dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('HTTP 413');
    expect(run.stderr).toContain(
      'ING_ERR_FILE_TOO_LARGE: huge.csv is larger than the 20000-byte limit per file',
    );
  });

  it('when the contract is rejected by the ingest, then --wait exits 2 and prints the reason', async () => {
    const dir = path.join(h.root, 'bad-contract');
    await writeSampleBatch(dir, { offset: 95, count: 3 });
    const run = await submit(dir, { contract: 'penguins@3.1.4', wait: true });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'rejected: ING_ERR_CONTRACT_NOT_ACCEPTED: dataset penguins does not accept contract penguins@3.1.4: its declaration accepts penguins@1.0.0',
    );
  });

  it('when --until merged is given, then the CLI waits past the ingest for the preprocessor: merged exits 0 with the version, rejected exits 2 with the reason', async () => {
    const mergedDir = path.join(h.root, 'to-merge');
    const toMerge = await writeSampleBatch(mergedDir, { offset: 120, count: 6 });
    const merging = submit(mergedDir, { untilMerged: true });
    // Play the preprocessor: once the batch is ingested, announce the master version holding it.
    const ingested = await h.ingested.waitFor((e) => sameFiles(e, toMerge));
    await new Promise((r) => setTimeout(r, 1500)); // the CLI polls on, as the batch is only ingested
    await h.emit(masterVersioned, {
      ...masterVersionedFixture,
      event_id: newEventId(),
      dataset: 'penguins',
      master_version: 4,
      batch_ids: [ingested.batch_id],
      rows_rejected: 0,
      rejection_report_uri: null,
      unreferenced_files: ['notes/unlinked.png'],
    });
    const merged = await merging;
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toContain(`batch ${ingested.batch_id} submitted`);
    expect(merged.stdout).toMatch(/^merged: master version 4$/m);
    expect(merged.stderr).toMatch(
      /^warning: no row links to notes\/unlinked\.png: kept in the raw snapshot, not merged$/m,
    );

    const rejectedDir = path.join(h.root, 'to-reject');
    const toReject = await writeSampleBatch(rejectedDir, { offset: 130, count: 6 });
    const rejecting = submit(rejectedDir, { untilMerged: true });
    const second = await h.ingested.waitFor((e) => sameFiles(e, toReject));
    await h.emit(batchRejected, {
      ...batchRejectedFixture,
      event_id: newEventId(),
      dataset: 'penguins',
      batch_id: second.batch_id,
      stage: 'VALIDATE',
      partial: false,
      error_code: 'PRE_ERR_TOO_MANY_BAD_ROWS',
      reason: '4 of 6 rows break the contract',
      report_uri: 'file:///reports/rejections.jsonl',
    });
    const rejected = await rejecting;
    expect(rejected.code).toBe(2);
    expect(rejected.stderr).toContain(
      'rejected by the preprocessor: PRE_ERR_TOO_MANY_BAD_ROWS: 4 of 6 rows break the contract (report: file:///reports/rejections.jsonl)',
    );
  });
});

/** Whether an ingested batch holds exactly the files of a sample batch (same sha256s). */
function sameFiles(e: BatchIngested, sample: SampleBatch): boolean {
  const hashes = (list: { sha256: string }[]) => list.map((f) => f.sha256).sort();
  return JSON.stringify(hashes(e.files)) === JSON.stringify(hashes(sample.files));
}
