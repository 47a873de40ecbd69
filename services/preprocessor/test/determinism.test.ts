import { afterAll, describe, expect, it } from 'vitest';
import type { BatchIngested } from '@tributary/events';
import { PENGUIN_COUNT, penguinRows, readTree } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import {
  csvBytes,
  dvcCheckout,
  dvcObject,
  png,
  testEnvironment,
  writeRawBatch,
  type TestEnvironment,
} from './helpers.ts';

const envs: TestEnvironment[] = [];

afterAll(async () => {
  for (const t of envs) await t.dispose();
});

/** Feeds the same four batches (with replaced keys and images) to a fresh preprocessor. */
async function freshRun() {
  // Tiny compaction tiers, so the run also rewrites and compacts parts.
  const t = await testEnvironment({ COMPACTION_FANOUT: '2', COMPACTION_BASE_ROWS: '20' });
  envs.push(t);
  const app = await buildApp(loadServiceConfig(t.env));
  await app.start();
  try {
    const versions = await t.readVersions();
    const rows = await penguinRows({ count: PENGUIN_COUNT });
    const image = await png(300, 200, [12, 34, 56]);
    const slices: [number, number][] = [
      [0, 30],
      [20, 60],
      [55, 70],
      [0, 10],
    ];
    const events: BatchIngested[] = [];
    for (const [i, [from, to]] of slices.entries()) {
      const batch = rows.slice(from, to).map((r, j) => ({
        ...r,
        body_mass_g: 3000 + i * 100 + j,
        image: j === 0 ? 'images/a.png' : null,
      }));
      events.push(
        await writeRawBatch(t.storeDir, 'penguins', `det-b${i}`, [
          { path: 'rows.csv', role: 'TABLE', bytes: csvBytes(batch) },
          { path: 'images/a.png', role: 'IMAGE', bytes: image },
        ]),
      );
    }
    for (const e of events) await t.publish(e);
    const announced = await versions.waitForCount(events.length, 90_000);
    const { rows: files } = await t.pool.query<{ relpath: string; md5: string; added_in: number }>(
      `SELECT relpath, md5, added_in, removed_in FROM master_files ORDER BY added_in, relpath`,
    );
    return { t, announced, files };
  } finally {
    await app.stop();
  }
}

describe('deterministic lineage', () => {
  it('when the same batches arrive in the same order in two fresh runs, then parts and master checksums are identical', async () => {
    const a = await freshRun();
    const b = await freshRun();
    const summary = (r: typeof a) =>
      r.announced.map((v) => [v.master_version, v.checksum, v.row_count, v.rows_updated]);
    expect(summary(a)).toEqual(summary(b));
    expect(a.files).toEqual(b.files);
    expect(a.announced.map((v) => v.row_count)).toEqual([30, 60, 70, 70]);
    expect(a.announced.map((v) => v.rows_updated)).toEqual([0, 10, 5, 10]);
    // Rewrites and compaction happened: some parts were replaced.
    expect(a.files.some((f) => f.added_in > 1 && f.relpath.startsWith('parts/'))).toBe(true);

    // And the compacted, rewritten last version still checks out with the real dvc CLI.
    const co = await dvcCheckout(a.t.storeDir, 'penguins', 4);
    try {
      expect(co.status).toMatch(/up to date/i);
      const tree = await readTree(co.dir);
      const { rows: current } = await a.t.pool.query<{ relpath: string; md5: string }>(
        `SELECT relpath, md5 FROM master_files WHERE removed_in IS NULL ORDER BY relpath`,
      );
      expect([...tree.keys()].sort()).toEqual(current.map((f) => f.relpath));
      for (const f of current)
        expect(tree.get(f.relpath)!.equals(await dvcObject(a.t.storeDir, f.md5))).toBe(true);
    } finally {
      await co.dispose();
    }
  }, 240_000);
});
