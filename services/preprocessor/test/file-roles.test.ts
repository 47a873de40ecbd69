/**
 * A file the contract does not accept as an image is refused by row, not by batch: a row linking to
 * an .svg (the penguins contract accepts jpeg, png, webp) is quarantined with rule `image`, the other
 * rows merge, and a linked file nobody links to (a README the ingestor took as a non-table) is ignored.
 */
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceApp } from '@tributary/runtime';
import { penguinRows } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import { csvBytes, png, testEnvironment, writeRawBatch, type TestEnvironment } from './helpers.ts';

let t: TestEnvironment;
let app: ServiceApp;

beforeAll(async () => {
  t = await testEnvironment();
  app = await buildApp(loadServiceConfig(t.env));
  await app.start();
});
afterAll(async () => {
  await app?.stop();
  await t?.dispose();
});

const SVG =
  '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="red"/></svg>\n';

describe('preprocessor: images the contract does not accept', () => {
  it('when a row links to an .svg and the batch carries a README, then only that row is refused (rule image) and the others merge', async () => {
    const versions = await t.collectVersions();
    const rejections = await t.collectRejections();
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

    const [v1] = await versions.decode(1);
    expect(v1).toMatchObject({
      dataset: 'penguins',
      batch_ids: ['roles-b1'],
      row_count: 5,
      rows_rejected: 1,
    });
    const [partial] = await rejections.decode(1);
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
});
