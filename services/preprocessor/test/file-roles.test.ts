/**
 * A file the contract does not accept as an image is refused by row, not by batch: a row linking to
 * an .svg (the penguins contract accepts jpeg, png, webp) is quarantined with rule `image`, the other
 * rows merge, and a linked file nobody links to (a README the ingestor took as a non-table) is
 * reported, not fatal. Tables are read by content under any name; a file declared a table whose
 * bytes are an image is a file rows may link to.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
let url: string;

beforeAll(async () => {
  t = await testEnvironment();
  app = await buildApp(loadServiceConfig(t.env));
  await app.start();
  url = await app.http.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.stop();
  await t?.dispose();
});

const SVG =
  '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="red"/></svg>\n';

describe('preprocessor: images the contract does not accept', () => {
  it('when a row links to an .svg and the batch carries a README, then only that row is refused (rule image) and the others merge', async () => {
    const versions = await t.readVersions();
    const rejections = await t.readRejections();
    const rows = (await penguinRows({ count: 6 })).map((r, i) => ({
      ...r,
      image: i === 0 ? 'images/p1.png' : i === 1 ? 'images/drawing.svg' : null,
    }));
    const event = await writeRawBatch(t.storeDir, 'penguins', 'roles-b1', [
      { path: 'rows.csv', role: 'TABLE', bytes: csvBytes(rows) },
      { path: 'images/p1.png', role: 'IMAGE', bytes: await png(60, 40, [20, 120, 200]) },
      { path: 'images/drawing.svg', role: 'IMAGE', bytes: Buffer.from(SVG) },
      { path: 'README.md', role: 'IMAGE', bytes: Buffer.from('# field notes\n') },
    ]);
    await t.publish(event);

    const [v1] = await versions.waitForCount(1);
    expect(v1).toMatchObject({
      dataset: 'penguins',
      batch_ids: ['roles-b1'],
      row_count: 5,
      rows_rejected: 1,
    });
    const [partial] = await rejections.waitForCount(1);
    expect(partial).toMatchObject({ batch_id: 'roles-b1', partial: true, rejected_rows: 1 });
    const report = (await fs.readFile(fileURLToPath(partial!.report_uri!), 'utf8')).trim().split('\n');
    expect(report).toHaveLength(1);
    expect(JSON.parse(report[0]!)).toMatchObject({
      file: 'rows.csv',
      row: 2,
      reasons: [
        {
          column: 'image',
          rule: 'image',
          message: expect.stringMatching(
            /images\/drawing\.svg.*image format svg is not one of jpeg, png, webp/,
          ) as unknown,
        },
      ],
    });
  });

  it('when tables come under any name and a file declared a table is an image, then tables are read by their content, the image serves the row linking to it, and the unlinked README is reported, not fatal', async () => {
    const versions = await t.readVersions();
    const rows = await penguinRows({ offset: 20, count: 9 });
    const linking = rows.map((r, i) => ({ ...r, image: i === 0 ? 'scans/p21.csv' : null }));
    const event = await writeRawBatch(t.storeDir, 'penguins', 'roles-b2', [
      // A CSV and a JSON Lines table named by the producer (--table), Parquet as Spark names it.
      { path: 'rows.export', role: 'TABLE', bytes: csvBytes(linking.slice(0, 3)) },
      { path: 'more-rows', role: 'TABLE', bytes: jsonl(linking.slice(3, 6)) },
      { path: 'part-00000', role: 'TABLE', bytes: await parquetBytes(linking.slice(6)) },
      // An image a producer's tool named like a table, and a README.
      { path: 'scans/p21.csv', role: 'TABLE', bytes: await png(50, 30, [200, 40, 40]) },
      { path: 'README.md', role: 'IMAGE', bytes: Buffer.from('# field notes\n') },
    ]);
    await t.publish(event);
    // Collected from the topic's start: the version of this batch, whatever came before it.
    const v = await versions.waitFor((e) => e.batch_ids.includes('roles-b2'));
    expect(v).toMatchObject({
      batch_ids: ['roles-b2'],
      rows_added: 9,
      rows_rejected: 0,
      unreferenced_files: ['README.md'],
    });

    // The dry run of the same files says what the pipeline did not merge, and why.
    const form = new FormData();
    form.append('dataset', 'penguins');
    form.append('contract', 'penguins@1.0.0');
    form.append(
      'manifest',
      JSON.stringify({ files: event.files.map((f) => ({ path: f.path, role: f.role })) }),
    );
    for (const f of event.files) {
      const bytes = await fs.readFile(path.join(t.storeDir, 'raw', 'penguins', 'roles-b2', f.path));
      form.append('file', new Blob([bytes]), f.path);
    }
    const res = await fetch(`${url}/validate`, { method: 'POST', body: form });
    const report = (await res.json()) as {
      outcome: string;
      unreferenced_files: string[];
      warnings: string[];
    };
    expect(res.status, JSON.stringify(report)).toBe(200);
    expect(report).toMatchObject({ outcome: 'MERGE', unreferenced_files: ['README.md'] });
    expect(report.warnings).toContainEqual(
      expect.stringMatching(/^no row links to README\.md: not part of the master/),
    );
  });
});
