import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceApp } from '@tributary/runtime';
import type { MasterVersioned } from '@tributary/events';
import { PENGUIN_COUNT, penguinRows, readTree, type EventReader, type PenguinRow } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import {
  csvBytes,
  dvcCheckout,
  dvcObject,
  imageBatchFiles,
  png,
  testEnvironment,
  writeRawBatch,
  type TestEnvironment,
} from './helpers.ts';

let t: TestEnvironment;
let app: ServiceApp;
let versions: EventReader<MasterVersioned>;
let rows: Awaited<ReturnType<typeof penguinRows>>;
/** Raw image files by name, and the canonical relpath each becomes in the master. */
const raw = new Map<string, Buffer>();
const canonical = new Map<string, string>();
let announced = 0;

const COLOURS: Record<string, [number, number, number]> = {
  a: [200, 10, 10],
  b: [10, 200, 10],
  c: [10, 10, 200],
  d: [200, 200, 10],
};

/** A batch of `rows` whose `image` names one of a, b, c, d (or null), with those image files. */
async function merge(dataset: string, batchId: string, batch: PenguinRow[]): Promise<number> {
  const files = imageBatchFiles(batch, raw);
  const event = await writeRawBatch(t.storeDir, dataset, batchId, files, {
    name: 'penguins',
    version: '1.0.0',
  });
  await t.publish(event);
  const all = await versions.waitForCount(++announced);
  const v = all.find((m) => m.batch_ids.includes(batchId))!;
  expect(v).toMatchObject({ dataset, rows_rejected: 0 });
  return v.master_version;
}

/** Image names (a, b, …) a version's rows link to, from its Parquet parts in a dvc checkout. */
async function linkedImages(dir: string): Promise<Map<string, string | null>> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const result = await conn.runAndReadAll(
    `SELECT id, image FROM read_parquet('${dir.replaceAll("'", "''")}/parts/*.parquet') ORDER BY id`,
  );
  const out = new Map(
    result.getRows().map(([id, image]) => [String(id), image === null ? null : String(image)]),
  );
  conn.closeSync();
  db.closeSync();
  return out;
}

const nameOf = (relpath: string) => [...canonical].find(([, r]) => r === relpath)?.[0] ?? relpath;

/**
 * Version `version` of `dataset` as the real dvc CLI checks it out: the image names its directory
 * holds, which must equal the images its rows link to and the images of its .dir manifest.
 */
async function imagesOf(dataset: string, version: number): Promise<string[]> {
  const co = await dvcCheckout(t.storeDir, dataset, version);
  try {
    expect(co.status).toMatch(/up to date/i);
    const tree = await readTree(co.dir);
    const inTree = [...tree.keys()].filter((k) => k.startsWith('images/')).sort();
    const linked = [...new Set([...(await linkedImages(co.dir)).values()].filter((i) => i !== null))].sort();
    expect(inTree).toEqual(linked);
    const { rows: recorded } = await t.pool.query<{ checksum: string }>(
      'SELECT checksum FROM master_versions WHERE dataset = $1 AND version = $2',
      [dataset, version],
    );
    const manifest = JSON.parse((await dvcObject(t.storeDir, recorded[0]!.checksum)).toString()) as {
      relpath: string;
    }[];
    expect(manifest.map((e) => e.relpath).filter((r) => r.startsWith('images/'))).toEqual(inTree);
    const { rows: files } = await t.pool.query<{ relpath: string }>(
      `SELECT relpath FROM master_files WHERE dataset = $1 AND kind = 'image'
          AND added_in <= $2 AND (removed_in IS NULL OR removed_in > $2) ORDER BY relpath`,
      [dataset, version],
    );
    expect(files.map((f) => f.relpath)).toEqual(inTree);
    return inTree.map(nameOf).sort();
  } finally {
    await co.dispose();
  }
}

async function refsOf(dataset: string): Promise<Record<string, number>> {
  const { rows: refs } = await t.pool.query<{ relpath: string; refs: number }>(
    'SELECT relpath, refs FROM image_refs WHERE dataset = $1 ORDER BY relpath',
    [dataset],
  );
  return Object.fromEntries(refs.map((r) => [nameOf(r.relpath), r.refs]));
}

const row = (i: number, image: string | null): PenguinRow => ({ ...rows[i]!, image });

beforeAll(async () => {
  t = await testEnvironment();
  rows = await penguinRows({ count: PENGUIN_COUNT });
  for (const [name, rgb] of Object.entries(COLOURS)) raw.set(name, await png(64, 48, rgb));
  app = await buildApp(loadServiceConfig(t.env));
  await app.start();
  versions = await t.readVersions();
});

afterAll(async () => {
  await app?.stop();
  await t?.dispose();
});

describe('image references', () => {
  it('when rows are replaced, then each new version lists exactly the images its rows link to and older versions keep theirs', async () => {
    // v1: a, b (shared by rows 1 and 2), c; row 4 has none.
    const v1 = await merge('pics', 'pics-b1', [
      row(0, 'a'),
      row(1, 'b'),
      row(2, 'b'),
      row(3, 'c'),
      row(4, null),
    ]);
    const { rows: v1files } = await t.pool.query<{ relpath: string }>(
      `SELECT relpath FROM master_files WHERE dataset = 'pics' AND kind = 'image' ORDER BY relpath`,
    );
    expect(v1files).toHaveLength(3);
    // Name the canonical relpaths from the rows of v1 (rows 0, 1, 3 link to a, b, c).
    const co = await dvcCheckout(t.storeDir, 'pics', v1);
    try {
      const linked = await linkedImages(co.dir);
      canonical.set('a', linked.get(rows[0]!.id)!);
      canonical.set('b', linked.get(rows[1]!.id)!);
      canonical.set('c', linked.get(rows[3]!.id)!);
    } finally {
      await co.dispose();
    }
    expect(await imagesOf('pics', v1)).toEqual(['a', 'b', 'c']);
    expect(await refsOf('pics')).toEqual({ a: 1, b: 2, c: 1 });

    // v2: row 0 replaced with another image (a goes), row 1 loses its image (b stays: row 2 still
    // links to it), row 3 keeps the same image (c stays), a new row brings d.
    const v2 = await merge('pics', 'pics-b2', [row(0, 'd'), row(1, null), row(3, 'c'), row(5, 'd')]);
    const { rows: d } = await t.pool.query<{ relpath: string }>(
      `SELECT relpath FROM master_files WHERE dataset = 'pics' AND kind = 'image' AND added_in = $1`,
      [v2],
    );
    canonical.set('d', d[0]!.relpath);
    expect(await imagesOf('pics', v2)).toEqual(['b', 'c', 'd']);
    expect(await refsOf('pics')).toEqual({ b: 1, c: 1, d: 2 });
    // The older version still checks out with the image it had.
    expect(await imagesOf('pics', v1)).toEqual(['a', 'b', 'c']);

    // v3: the last row linking to b loses it; b goes.
    const v3 = await merge('pics', 'pics-b3', [row(2, null)]);
    expect(await imagesOf('pics', v3)).toEqual(['c', 'd']);
    expect(await refsOf('pics')).toEqual({ c: 1, d: 2 });
    expect(await imagesOf('pics', v2)).toEqual(['b', 'c', 'd']);

    // v4: an image that left comes back when a row links to it again.
    const v4 = await merge('pics', 'pics-b4', [row(4, 'a')]);
    expect(await imagesOf('pics', v4)).toEqual(['a', 'c', 'd']);
    expect(await refsOf('pics')).toEqual({ a: 1, c: 1, d: 2 });
    const { rows: history } = await t.pool.query<{ added_in: number; removed_in: number | null }>(
      `SELECT added_in, removed_in FROM master_files WHERE dataset = 'pics' AND relpath = $1 ORDER BY added_in`,
      [canonical.get('a')],
    );
    expect(history).toEqual([
      { added_in: v1, removed_in: v2 },
      { added_in: v4, removed_in: null },
    ]);
  });

  it('when a batch is delivered again, then the image counts do not change', async () => {
    const event = await writeRawBatch(
      t.storeDir,
      'pics',
      'pics-b5',
      [
        { path: 'rows.csv', role: 'TABLE', bytes: csvBytes([row(3, 'images/d.png')]) },
        { path: 'images/d.png', role: 'IMAGE', bytes: raw.get('d')! },
      ],
      { name: 'penguins', version: '1.0.0' },
    );
    await t.publish(event);
    await t.publish({ ...event, event_id: 'another-delivery-of-pics-b5' });
    await versions.waitForCount(++announced);
    // A later batch on the same partition proves the redelivery was handled before it.
    const next = await merge('pics', 'pics-b6', [row(6, null)]);
    const all = await versions.waitForCount(announced);
    expect(all.filter((v) => v.batch_ids.includes('pics-b5'))).toHaveLength(1);
    // Row 3 moved from c to d: c had no other link.
    expect(await imagesOf('pics', next)).toEqual(['a', 'd']);
    expect(await refsOf('pics')).toEqual({ a: 1, d: 3 });
  });

  it('when a master predates the image counts, then its next merge counts every part once and drops unlinked images', async () => {
    const v1 = await merge('legacy', 'legacy-b1', [row(0, 'a'), row(1, 'b'), row(2, 'b'), row(3, 'c')]);
    // As a master committed before migration 1700000005000 looks: no counts, and (from the time
    // images were never removed) an image file no row links to.
    const orphan = `images/${'0'.repeat(64)}.png`;
    await t.pool.query(`DELETE FROM image_refs WHERE dataset = 'legacy'`);
    await t.pool.query(`UPDATE masters SET image_refs_ready = false WHERE dataset = 'legacy'`);
    await t.pool.query(
      `INSERT INTO master_files (dataset, relpath, kind, md5, size, added_in)
       VALUES ('legacy', $1, 'image', $2, 1, $3)`,
      [orphan, '0'.repeat(32), v1],
    );

    const v2 = await merge('legacy', 'legacy-b2', [row(0, 'd'), row(4, 'c')]);
    expect(await imagesOf('legacy', v2)).toEqual(['b', 'c', 'd']);
    expect(await refsOf('legacy')).toEqual({ b: 2, c: 2, d: 1 });
    const { rows: gone } = await t.pool.query<{ relpath: string }>(
      `SELECT relpath FROM master_files WHERE dataset = 'legacy' AND removed_in = $1 AND kind = 'image' ORDER BY relpath`,
      [v2],
    );
    expect(gone.map((g) => g.relpath).sort()).toEqual([canonical.get('a'), orphan].sort());
    const { rows: ready } = await t.pool.query(
      `SELECT image_refs_ready FROM masters WHERE dataset = 'legacy'`,
    );
    expect(ready).toEqual([{ image_refs_ready: true }]);

    // From then on, the counts follow each batch.
    const v3 = await merge('legacy', 'legacy-b3', [row(1, null), row(2, 'd')]);
    expect(await imagesOf('legacy', v3)).toEqual(['c', 'd']);
    expect(await refsOf('legacy')).toEqual({ c: 2, d: 2 });
  });
});
