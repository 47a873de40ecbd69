import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceApp } from '@tributary/runtime';
import { defaultContractsDir } from '@tributary/contracts';
import type { BatchRejected, MasterVersioned } from '@tributary/events';
import { PENGUIN_COUNT, penguinRows, readTree, type EventReader, type PenguinRow } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import {
  csvBytes,
  dvcCheckout,
  dvcCheckoutMany,
  dvcObject,
  png,
  testEnvironment,
  writeRawBatch,
  type TestEnvironment,
} from './helpers.ts';

let t: TestEnvironment;
let app: ServiceApp;
let contractsDir: string;
let versions: EventReader<MasterVersioned>;
let rejections: EventReader<BatchRejected>;
let rows: Awaited<ReturnType<typeof penguinRows>>;

const matching = (re: RegExp): unknown => expect.stringMatching(re) as unknown;

async function readMaster(dir: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const result = await conn.runAndReadAll(
    `SELECT * FROM read_parquet('${dir.replaceAll("'", "''")}/parts/*.parquet') ORDER BY id`,
  );
  const out = result.getRowObjectsJS() as Record<string, unknown>[];
  conn.closeSync();
  db.closeSync();
  return out;
}

beforeAll(async () => {
  // The repository's contracts plus a strict one, to see the reject_batch policy at work.
  contractsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-contracts-'));
  await fs.cp(fileURLToPath(defaultContractsDir), contractsDir, { recursive: true });
  const strict = (await fs.readFile(path.join(contractsDir, 'penguins', '1.0.0.yaml'), 'utf8'))
    .replace('name: penguins', 'name: penguins-strict')
    .replace('on_bad_rows: quarantine', 'on_bad_rows: reject_batch');
  await fs.mkdir(path.join(contractsDir, 'penguins-strict'));
  await fs.writeFile(path.join(contractsDir, 'penguins-strict', '1.0.0.yaml'), strict);

  t = await testEnvironment({ CONTRACTS_DIR: contractsDir });
  rows = await penguinRows({ count: PENGUIN_COUNT });
  app = await buildApp(loadServiceConfig(t.env));
  await app.start();
  versions = await t.readVersions();
  rejections = await t.readRejections();
});

afterAll(async () => {
  await app?.stop();
  await t?.dispose();
  await fs.rm(contractsDir, { recursive: true, force: true });
});

describe('preprocessor merge', () => {
  it('when a batch is ingested, then master v1 holds its rows and master.versioned says so field by field', async () => {
    const batch = rows.slice(0, 100).map((r, i) => (i < 2 ? { ...r, image: `images/p${i + 1}.png` } : r));
    const event = await writeRawBatch(t.storeDir, 'penguins', 'penguins-b1', [
      { path: 'rows.csv', role: 'TABLE', bytes: csvBytes(batch) },
      { path: 'images/p1.png', role: 'IMAGE', bytes: await png(40, 30, [200, 10, 10]) },
      { path: 'images/p2.png', role: 'IMAGE', bytes: await png(900, 600, [10, 200, 10]) },
    ]);
    await t.publish(event);
    const [v1] = await versions.waitForCount(1);
    const dvcText = await fs.readFile(path.join(t.storeDir, 'master/penguins/penguins-v1.dvc'), 'utf8');
    const checksum = /md5: ([0-9a-f]{32}\.dir)/.exec(dvcText)?.[1];
    expect(v1).toEqual({
      event_id: matching(/^[0-9a-f-]{36}$/),
      occurred_at: expect.any(Number) as unknown,
      run_id: matching(/^[0-9a-f]{32}$/),
      dataset: 'penguins',
      master_version: 1,
      previous_version: null,
      row_count: 100,
      rows_added: 100,
      rows_updated: 0,
      rows_rejected: 0,
      checksum,
      location: pathToFileURL(path.join(t.storeDir, 'master/penguins/penguins-v1')).href,
      dvc_file: pathToFileURL(path.join(t.storeDir, 'master/penguins/penguins-v1.dvc')).href,
      batch_ids: ['penguins-b1'],
      raw_checksums: { 'penguins-b1': event.raw_md5 },
      contract: { name: 'penguins', version: '1.0.0' },
      rejection_report_uri: null,
      ready_at: null,
      unreferenced_files: [],
    });
    expect(dvcText).toBe(
      `outs:\n- md5: ${checksum}\n  size: ${/size: (\d+)/.exec(dvcText)![1]}\n  nfiles: 3\n  hash: md5\n  path: penguins-v1\n`,
    );
    const { rows: current } = await t.pool.query('SELECT row_count, master_version FROM current_master_rows');
    expect(current).toEqual([{ row_count: 100, master_version: 1 }]);
    const { rows: recorded } = await t.pool.query(
      'SELECT checksum, batch_ids, raw_checksums FROM master_versions WHERE dataset = $1',
      ['penguins'],
    );
    expect(recorded).toEqual([
      { checksum, batch_ids: ['penguins-b1'], raw_checksums: { 'penguins-b1': event.raw_md5 } },
    ]);
  });

  it('when a second batch repeats keys, then the newest rows win, and dvc checks out v2 and v1 byte for byte', async () => {
    const batch = rows.slice(90, 150).map((r) => (r.id <= 'P0100' ? { ...r, body_mass_g: 4321 } : r));
    const event = await writeRawBatch(t.storeDir, 'penguins', 'penguins-b2', [
      { path: 'part-a.csv', role: 'TABLE', bytes: csvBytes(batch.slice(0, 30)) },
      { path: 'part-b.csv', role: 'TABLE', bytes: csvBytes(batch.slice(30)) },
    ]);
    await t.publish(event);
    const [, v2] = await versions.waitForCount(2);
    expect(v2).toMatchObject({
      master_version: 2,
      previous_version: 1,
      row_count: 150,
      rows_added: 50,
      rows_updated: 10,
    });

    const co2 = await dvcCheckout(t.storeDir, 'penguins', 2);
    try {
      expect(co2.status).toMatch(/up to date/i);
      const tree = await readTree(co2.dir);
      const { rows: files } = await t.pool.query<{ relpath: string; md5: string }>(
        `SELECT relpath, md5 FROM master_files WHERE dataset = 'penguins' AND added_in <= 2 AND (removed_in IS NULL OR removed_in > 2)`,
      );
      expect([...tree.keys()].sort()).toEqual(files.map((f) => f.relpath).sort());
      for (const f of files)
        expect(tree.get(f.relpath)!.equals(await dvcObject(t.storeDir, f.md5))).toBe(true);
      const master = await readMaster(co2.dir);
      expect(master).toHaveLength(150);
      expect(new Set(master.map((r) => r.id)).size).toBe(150);
      expect(master.filter((r) => r.body_mass_g === 4321).map((r) => r.id)).toHaveLength(10);
      expect(master.find((r) => r.id === 'P0100')).toMatchObject({
        body_mass_g: 4321,
        _batch_id: 'penguins-b2',
      });
      const withImages = master.filter((r) => r.image !== null);
      expect(withImages.map((r) => r.id)).toEqual(['P0001', 'P0002']);
      for (const r of withImages) {
        expect(r.image).toMatch(/^images\/[0-9a-f]{64}\.png$/);
        expect(tree.has(r.image as string)).toBe(true);
      }
    } finally {
      await co2.dispose();
    }

    const co1 = await dvcCheckout(t.storeDir, 'penguins', 1);
    try {
      expect(co1.status).toMatch(/up to date/i);
      const master = await readMaster(co1.dir);
      expect(master).toHaveLength(100);
      expect(master.find((r) => r.id === 'P0100')).toMatchObject({ _batch_id: 'penguins-b1' });
      expect(master.some((r) => r.body_mass_g === 4321)).toBe(false);
    } finally {
      await co1.dispose();
    }
  });

  it('when batch.ingested is delivered twice, then the batch merges once and the redelivery is acknowledged', async () => {
    const event = await writeRawBatch(t.storeDir, 'penguins', 'penguins-b3', [
      { path: 'rows.csv', role: 'TABLE', bytes: csvBytes(rows.slice(150, 160)) },
    ]);
    await t.publish(event);
    await t.publish(event);
    await t.publish({ ...event, event_id: 'another-delivery-of-b3' });
    // A later batch on the same partition proves the duplicates were handled before it.
    const next = await writeRawBatch(t.storeDir, 'penguins', 'penguins-b4', [
      { path: 'rows.csv', role: 'TABLE', bytes: csvBytes(rows.slice(160, 165)) },
    ]);
    await t.publish(next);
    const all = await versions.waitForCount(4);
    expect(all.map((v) => [v.master_version, v.batch_ids, v.row_count])).toEqual([
      [1, ['penguins-b1'], 100],
      [2, ['penguins-b2'], 150],
      [3, ['penguins-b3'], 160],
      [4, ['penguins-b4'], 165],
    ]);
    const { rows: counted } = await t.pool.query(`SELECT count(*)::int AS n FROM processed_batches`);
    expect(counted).toEqual([{ n: 4 }]);
  });

  it('when a batch has bad rows and bad images, then each is reported with its reason and none reaches the master', async () => {
    const good = rows.slice(200, 220).map((r) => ({ ...r }));
    good[0]!.image = 'images/ok.png';
    const bad: PenguinRow[] = [
      { ...rows[220]!, image: 'images/corrupt.png' },
      { ...rows[221]!, image: 'images/missing.png' },
      { ...rows[222]!, body_mass_g: 99_999 },
      { ...rows[223]!, species: 'Emperor' },
      { ...rows[224]! },
      { ...rows[224]!, island: 'Dream' },
    ];
    const okPng = await png(64, 64, [1, 2, 3]);
    const corrupt = (await png(64, 64, [9, 9, 9])).subarray(0, 60);
    const event = await writeRawBatch(t.storeDir, 'penguins', 'penguins-bad', [
      { path: 'rows.csv', role: 'TABLE', bytes: csvBytes([...good, ...bad]) },
      { path: 'images/ok.png', role: 'IMAGE', bytes: okPng },
      { path: 'images/corrupt.png', role: 'IMAGE', bytes: corrupt },
    ]);
    await t.publish(event);
    const [v5] = (await versions.waitForCount(5)).slice(4);
    const [rejected] = await rejections.waitForCount(1);
    const reportUri = `${pathToFileURL(path.join(t.storeDir, 'reports/penguins/penguins-bad/rejections.jsonl')).href}`;
    expect(v5).toMatchObject({
      master_version: 5,
      rows_added: 20,
      rows_rejected: 6,
      rejection_report_uri: reportUri,
    });
    expect(rejected).toMatchObject({
      batch_id: 'penguins-bad',
      stage: 'VALIDATE',
      partial: true,
      rejected_rows: 6,
      report_uri: reportUri,
      error_code: 'PRE_ERR_ROWS_QUARANTINED',
    });
    const report = (await fs.readFile(fileURLToPath(reportUri), 'utf8'))
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            file: string;
            row: number;
            primary_key: { id: string };
            reasons: { rule: string; message: string }[];
            run_id: string;
          },
      );
    expect(report.map((r) => [r.file, r.row, r.primary_key.id, r.reasons.map((x) => x.rule)])).toEqual([
      ['rows.csv', 21, rows[220]!.id, ['image']],
      ['rows.csv', 22, rows[221]!.id, ['image']],
      ['rows.csv', 23, rows[222]!.id, ['max']],
      ['rows.csv', 24, rows[223]!.id, ['enum']],
      ['rows.csv', 25, rows[224]!.id, ['duplicate_key']],
      ['rows.csv', 26, rows[224]!.id, ['duplicate_key']],
    ]);
    expect(report[0]!.reasons[0]!.message).toMatch(/truncated or corrupt|cannot be decoded/);
    expect(report[1]!.reasons[0]!.message).toMatch(/not an image file of the batch/);
    // Every line names the run (the trace id), like the event that announced the report.
    expect(new Set(report.map((r) => r.run_id))).toEqual(new Set([rejected!.run_id]));
    expect(rejected!.run_id).toMatch(/^[0-9a-f]{32}$/);

    const co = await dvcCheckout(t.storeDir, 'penguins', 5);
    try {
      const master = await readMaster(co.dir);
      const ids = new Set(master.map((r) => r.id));
      expect(master).toHaveLength(165 + 20);
      for (const b of bad) expect(ids.has(b.id)).toBe(false);
      expect(master.find((r) => r.id === good[0]!.id)?.image).toMatch(/^images\/[0-9a-f]{64}\.png$/);
    } finally {
      await co.dispose();
    }
  });

  it('when the contract says reject_batch and one row is bad, then nothing merges and batch.rejected names the report', async () => {
    const batch = rows.slice(0, 10).map((r, i) => (i === 3 ? { ...r, flipper_length_mm: 5 } : r));
    const event = await writeRawBatch(
      t.storeDir,
      'strict',
      'strict-b1',
      [
        {
          path: 'rows.jsonl',
          role: 'TABLE',
          bytes: Buffer.from(batch.map((r) => JSON.stringify(r)).join('\n') + '\n'),
        },
      ],
      { name: 'penguins-strict', version: '1.0.0' },
    );
    await t.publish(event);
    const [, rejected] = await rejections.waitForCount(2);
    expect(rejected).toMatchObject({
      dataset: 'strict',
      batch_id: 'strict-b1',
      stage: 'VALIDATE',
      error_code: 'PRE_ERR_CONTRACT_VIOLATION',
      partial: false,
      rejected_rows: 1,
    });
    const report = await fs.readFile(fileURLToPath(rejected!.report_uri!), 'utf8');
    expect(report.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(report)).toMatchObject({ file: 'rows.jsonl', row: 4, reasons: [{ rule: 'min' }] });
    const { rows: masters } = await t.pool.query(`SELECT * FROM master_versions WHERE dataset = 'strict'`);
    expect(masters).toEqual([]);
  });

  it('when two datasets have master versions, then the real dvc checks out versions of both side by side in one repository, byte for byte', async () => {
    const event = await writeRawBatch(
      t.storeDir,
      'strict',
      'strict-b2',
      [{ path: 'rows.csv', role: 'TABLE', bytes: csvBytes(rows.slice(0, 12)) }],
      { name: 'penguins-strict', version: '1.0.0' },
    );
    await t.publish(event);
    const strict = (await versions.waitForCount(6)).find((v) => v.dataset === 'strict');
    expect(strict).toMatchObject({
      master_version: 1,
      location: pathToFileURL(path.join(t.storeDir, 'master/strict/strict-v1')).href,
      dvc_file: pathToFileURL(path.join(t.storeDir, 'master/strict/strict-v1.dvc')).href,
    });
    // Version 1 of both datasets, and penguins' version 2, in one repository: no name is shared.
    const co = await dvcCheckoutMany(t.storeDir, [
      { dataset: 'penguins', version: 1 },
      { dataset: 'strict', version: 1 },
      { dataset: 'penguins', version: 2 },
    ]);
    try {
      expect(co.status).toMatch(/up to date/i);
      expect((await fs.readdir(co.repo)).filter((n) => !n.startsWith('.')).sort()).toEqual([
        'penguins-v1',
        'penguins-v1.dvc',
        'penguins-v2',
        'penguins-v2.dvc',
        'strict-v1',
        'strict-v1.dvc',
      ]);
      const [p1, s1, p2] = co.dirs.map((d) => d);
      expect((await readMaster(p1!)).map((r) => r.id)).toHaveLength(100);
      expect((await readMaster(p2!)).map((r) => r.id)).toHaveLength(150);
      expect((await readMaster(s1!)).map((r) => r._batch_id)).toEqual(Array(12).fill('strict-b2'));
      for (const [dir, version] of [
        [s1!, strict!],
        [p2!, (await versions.waitForCount(2))[1]!],
      ] as const) {
        const dirObject = JSON.parse((await dvcObject(t.storeDir, version.checksum)).toString('ascii')) as {
          md5: string;
          relpath: string;
        }[];
        const tree = await readTree(dir);
        expect([...tree.keys()].sort()).toEqual(dirObject.map((e) => e.relpath).sort());
        for (const e of dirObject)
          expect(tree.get(e.relpath)!.equals(await dvcObject(t.storeDir, e.md5))).toBe(true);
      }
    } finally {
      await co.dispose();
    }
  });
});
