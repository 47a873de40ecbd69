/**
 * Hostile table content through the real pipeline (batch.ingested → preprocessor → master.versioned /
 * batch.rejected): control characters in strings are refused by row in every table format, and a
 * table that cannot be read is rejected with a reason naming the problem and where.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceApp } from '@tributary/runtime';
import { penguinRows } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import {
  csvBytes,
  jsonl,
  parquetBytes,
  png,
  testEnvironment,
  writeRawBatch,
  type TestEnvironment,
} from './helpers.ts';

let t: TestEnvironment;
let app: ServiceApp;
/** batch.rejected events so far (readers read the topic from its beginning). */
let rejectedSoFar = 0;

beforeAll(async () => {
  t = await testEnvironment();
  app = await buildApp(loadServiceConfig(t.env));
  await app.start();
});
afterAll(async () => {
  await app?.stop();
  await t?.dispose();
});

interface ReportLine {
  file: string;
  row: number;
  reasons: { column: string; rule: string; message: string }[];
}

async function readReport(uri: string): Promise<ReportLine[]> {
  const text = await fs.readFile(fileURLToPath(uri), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ReportLine);
}

describe('preprocessor: hostile values', () => {
  it('when CSV, JSON Lines and Parquet strings hold NUL, CR/LF or ESC, then those rows are quarantined with rule control_chars and the rest merges', async () => {
    const versions = await t.readVersions();
    const rejections = await t.readRejections();
    const csvRows = (await penguinRows({ offset: 0, count: 4 })).map((r, i) =>
      i === 1 ? { ...r, image: 'notes\nsecond line' } : i === 2 ? { ...r, image: 'a\u0000b' } : r,
    );
    const jsonRows = (await penguinRows({ offset: 4, count: 3 })).map((r, i) =>
      i === 0 ? { ...r, sex: 'MA\u001bLE' } : r,
    );
    const parquetRows = (await penguinRows({ offset: 7, count: 3 })).map((r, i) =>
      i === 2 ? { ...r, image: 'tab\tis fine but CR\r is not' } : i === 1 ? { ...r, image: null } : r,
    );
    const event = await writeRawBatch(t.storeDir, 'penguins', 'hostile-ctl', [
      // toCsv quotes the value holding LF: the control character is inside a quoted field.
      { path: 'a.csv', role: 'TABLE', bytes: csvBytes(csvRows) },
      { path: 'b.jsonl', role: 'TABLE', bytes: jsonl(jsonRows) },
      { path: 'c.parquet', role: 'TABLE', bytes: await parquetBytes(parquetRows) },
    ]);
    await t.publish(event);

    const [version] = await versions.waitForCount(1);
    expect(version).toMatchObject({ batch_ids: ['hostile-ctl'], rows_rejected: 4 });
    const [partial] = await rejections.waitForCount(1);
    rejectedSoFar = 1;
    expect(partial).toMatchObject({ batch_id: 'hostile-ctl', partial: true, rejected_rows: 4 });
    const report = await readReport(partial!.report_uri!);
    expect(report.map((r) => [r.file, r.row, r.reasons.map((x) => `${x.column}:${x.rule}`)])).toEqual([
      ['a.csv', 2, ['image:control_chars']],
      ['a.csv', 3, ['image:control_chars']],
      ['b.jsonl', 1, ['sex:control_chars']],
      ['c.parquet', 3, ['image:control_chars']],
    ]);
    expect(report[0]!.reasons[0]!.message).toContain('U+000A (LF) at character 6');
    expect(report[1]!.reasons[0]!.message).toContain('U+0000 (NUL) at character 2');
    expect(report[2]!.reasons[0]!.message).toContain('U+001B (ESC) at character 3');
    expect(report[3]!.reasons[0]!.message).toContain('U+000D (CR) at character 19');
  });

  it('when a JSON Lines column mixes strings and objects, or a Parquet string column is stored as bytes, then strings merge as text and objects or non-UTF-8 bytes are type errors', async () => {
    const versions = await t.readVersions();
    const rejections = await t.readRejections();
    const [p1, p2, p3, p4, p5, p6] = await penguinRows({ offset: 20, count: 6 });
    // A JSON column (strings and an object): DuckDB reads it as JSON, each value as JSON text.
    const mixed =
      [
        { ...p1!, image: 'images/a.png' },
        { ...p2!, image: { path: 'images/a.png' } },
        { ...p3!, image: null },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n';
    const blob = await parquetBytes(
      [p4!, p5!, p6!],
      [Buffer.from('images/é.png', 'utf8'), Buffer.from([0xff, 0xfe]), null],
    );
    const event = await writeRawBatch(t.storeDir, 'penguins', 'hostile-types', [
      { path: 'b.jsonl', role: 'TABLE', bytes: Buffer.from(mixed, 'utf8') },
      { path: 'c.parquet', role: 'TABLE', bytes: blob },
      { path: 'images/a.png', role: 'IMAGE', bytes: await png(20, 20, [200, 0, 0]) },
      { path: 'images/é.png', role: 'IMAGE', bytes: await png(20, 20, [0, 200, 0]) },
    ]);
    await t.publish(event);

    const all = await versions.waitForCount(2);
    const version = all.find((v) => v.batch_ids.includes('hostile-types'))!;
    expect(version).toMatchObject({ rows_rejected: 2 });
    const partial = (await rejections.waitForCount(++rejectedSoFar)).find(
      (r) => r.batch_id === 'hostile-types',
    )!;
    const report = await readReport(partial.report_uri!);
    expect(
      report.map((r) => [r.file, r.row, r.reasons.map((x) => `${x.column}:${x.rule}:${x.message}`)]),
    ).toEqual([
      ['b.jsonl', 2, ['image:type:image: {"path":"images/a.png"} is not a valid string']],
      [
        'c.parquet',
        2,
        [
          'image:type:image: 2 bytes that are not UTF-8 text is not a valid string',
          // and the safety net agrees: the bytes do not convert to the master's VARCHAR either
          "null:type:a value does not convert to the master's type",
        ],
      ],
    ]);

    // The batch's part holds the strings as text: the images found and canonicalised, not quoted or escaped.
    const { rows: parts } = await t.pool.query<{ md5: string }>(
      `SELECT md5 FROM master_files WHERE dataset = 'penguins' AND kind = 'part' AND added_in = $1`,
      [Number(version.master_version)],
    );
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const files = parts.map(
      (p) => `'${path.join(t.storeDir, 'dvc/files/md5', p.md5.slice(0, 2), p.md5.slice(2))}'`,
    );
    const rows = (
      await conn.runAndReadAll(
        `SELECT id, image FROM read_parquet([${files.join(', ')}]) WHERE _batch_id = 'hostile-types' ORDER BY id`,
      )
    ).getRows();
    conn.closeSync();
    db.closeSync();
    expect(
      rows.map(([id, image]) => [id, typeof image === 'string' ? image.replace(/[0-9a-f]{64}/, 'H') : image]),
    ).toEqual([
      [p1!.id, 'images/H.png'],
      [p3!.id, null],
      [p4!.id, 'images/H.png'],
      [p6!.id, null],
    ]);
  });

  it.each([
    [
      'rows.csv',
      Buffer.concat([
        Buffer.from('id,species,island\nP0001,Ad'),
        Buffer.from([0xe9, 0xff]),
        Buffer.from(',Biscoe\n'),
      ]),
      /^rows\.csv: cannot be read as csv: not UTF-8 at line 2, byte 9 of the line \(bytes e9 ff\): tables must be UTF-8 encoded$/,
    ],
    [
      'ragged.csv',
      Buffer.from('id,species,island\nP0001,Adelie,Biscoe\nP0002,Adelie,Biscoe,extra\nP0003,Gentoo,Dream\n'),
      /^ragged\.csv: cannot be read as csv: line 3: Expected Number of Columns: 3 Found: 4$/,
    ],
    [
      'quote.csv',
      Buffer.from('id,species,island\nP0001,"Adelie,Biscoe\nP0002,Adelie,Biscoe\n'),
      /^quote\.csv: cannot be read as csv: line 2: Value with unterminated quote found$/,
    ],
    [
      'rows.jsonl',
      Buffer.concat([
        Buffer.from('{"id":"P0001","species":"Adelie"}\n{"id":"P0002","species":"Ad'),
        Buffer.from([0xe9, 0xff]),
        Buffer.from('"}\n'),
      ]),
      /^rows\.jsonl: cannot be read as json: not UTF-8 at line 2, byte 28 of the line \(bytes e9 ff\): tables must be UTF-8 encoded$/,
    ],
    [
      'rows.parquet',
      Buffer.from('PAR1 this is not parquet'),
      /rows\.parquet: cannot be read as parquet: .*No magic bytes found at end of file 'rows\.parquet'/,
    ],
  ] as const)(
    'when %s cannot be read, then the batch is rejected with a reason naming the problem and the line',
    async (file, bytes, reason) => {
      const rejections = await t.readRejections();
      const batchId = `unreadable-${file.replace('.', '-')}`;
      const event = await writeRawBatch(t.storeDir, 'penguins', batchId, [
        { path: file, role: 'TABLE', bytes },
      ]);
      await t.publish(event);
      const all = await rejections.waitForCount(++rejectedSoFar);
      const rejected = all.find((r) => r.batch_id === batchId)!;
      expect(rejected).toMatchObject({ error_code: 'PRE_ERR_TABLE_UNREADABLE', partial: false });
      expect(rejected.reason).toMatch(reason);
      // Neither the service's scratch path nor DuckDB's advice on reader options leaks into it.
      expect(rejected.reason).not.toMatch(/preprocessor-|Possible|LINE 1|ignore_errors/);
    },
  );
});
