import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PENGUIN_COUNT, penguinRows, type PenguinRow, type RunningProcess } from '@tributary/testing';
import {
  dvcObject,
  imageBatchFiles,
  png,
  PreprocessorProcesses,
  testEnvironment,
  writeRawBatch,
  type TestEnvironment,
} from './helpers.ts';

const processes = new PreprocessorProcesses(() => t.env);
let t: TestEnvironment;
let rows: Awaited<ReturnType<typeof penguinRows>>;
const raw = new Map<string, Buffer>();

/** A preprocessor process on the test's topics, schema and store, killed at the end. */
const preprocessor = (extra?: Record<string, string>) => processes.start(extra);
const stop = (p: RunningProcess) => processes.stop(p);

/** Publishes a batch of rows whose `image` names one of the raw images (or null). */
async function publish(batchId: string, batch: PenguinRow[]): Promise<void> {
  const files = imageBatchFiles(batch, raw);
  await t.publish(await writeRawBatch(t.storeDir, 'penguins', batchId, files));
}

/** Image relpaths of version `version`: master_files and the version's .dir manifest agree. */
async function imagesOf(version: number): Promise<string[]> {
  const { rows: files } = await t.pool.query<{ relpath: string }>(
    `SELECT relpath FROM master_files WHERE kind = 'image'
        AND added_in <= $1 AND (removed_in IS NULL OR removed_in > $1) ORDER BY relpath`,
    [version],
  );
  const { rows: recorded } = await t.pool.query<{ checksum: string }>(
    'SELECT checksum FROM master_versions WHERE version = $1',
    [version],
  );
  const manifest = JSON.parse((await dvcObject(t.storeDir, recorded[0]!.checksum)).toString()) as {
    relpath: string;
  }[];
  const listed = files.map((f) => f.relpath);
  expect(manifest.map((e) => e.relpath).filter((r) => r.startsWith('images/'))).toEqual(listed);
  return listed;
}

async function refs(): Promise<Record<string, number>> {
  const { rows: counted } = await t.pool.query<{ relpath: string; refs: number }>(
    'SELECT relpath, refs FROM image_refs ORDER BY relpath',
  );
  return Object.fromEntries(counted.map((r) => [r.relpath, r.refs]));
}

const row = (i: number, image: string | null): PenguinRow => ({ ...rows[i]!, image });

beforeAll(async () => {
  t = await testEnvironment({ SHUTDOWN_GRACE_MS: '5000' });
  rows = await penguinRows({ count: PENGUIN_COUNT });
  raw.set('a', await png(64, 48, [200, 10, 10]));
  raw.set('b', await png(64, 48, [10, 200, 10]));
  raw.set('d', await png(64, 48, [200, 200, 10]));
});

afterAll(async () => {
  processes.killAll();
  await t?.dispose();
});

describe('image references under crashes', () => {
  it('when a merge that drops images is killed before and after its commit, then the retry gives the same images and counts once', async () => {
    let healthy = await preprocessor();
    const versions = await t.readVersions();
    await publish('ir-b1', [row(0, 'a'), row(1, 'b'), row(2, 'b')]);
    await versions.waitForCount(1, 90_000);
    const v1 = await imagesOf(1);
    const counts1 = await refs();
    expect(Object.keys(counts1)).toEqual(v1);
    const a = v1.find((r) => counts1[r] === 1)!;
    const b = v1.find((r) => counts1[r] === 2)!;
    expect([a, b].sort()).toEqual(v1);
    await stop(healthy);

    // Killed before the commit: nothing of the merge is visible; the retry does it once.
    const crashBefore = await preprocessor({ FAULT_INJECT: 'crash-before-commit' });
    await publish('ir-b2', [row(0, 'd'), row(1, null)]);
    expect(await crashBefore.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect((await t.pool.query('SELECT version FROM master_versions')).rows).toEqual([{ version: 1 }]);
    expect(await refs()).toEqual(counts1);

    healthy = await preprocessor();
    await versions.waitForCount(2, 90_000);
    const v2 = await imagesOf(2);
    // a left (row 0 moved to d), b stays (row 2 still links to it), d came.
    const d = v2.find((r) => r !== b)!;
    expect(v2).toEqual([b, d].sort());
    expect(v2).not.toContain(a);
    expect(await refs()).toEqual({ [b]: 1, [d]: 1 });
    expect(await imagesOf(1)).toEqual(v1);
    await stop(healthy);

    // Killed after the commit: the redelivery is acknowledged, the counts are not applied twice.
    const crashAfter = await preprocessor({ FAULT_INJECT: 'crash-after-commit' });
    await publish('ir-b3', [row(2, null), row(3, 'd')]);
    expect(await crashAfter.exited).toEqual({ code: null, signal: 'SIGKILL' });
    healthy = await preprocessor();
    await publish('ir-b4', [row(4, null)]);
    const all = await versions.waitForCount(4, 90_000);
    expect(all.map((v) => [v.master_version, v.batch_ids])).toEqual([
      [1, ['ir-b1']],
      [2, ['ir-b2']],
      [3, ['ir-b3']],
      [4, ['ir-b4']],
    ]);
    // Only d is left, linked from rows 0 and 3.
    expect(await imagesOf(3)).toEqual([d]);
    expect(await imagesOf(4)).toEqual([d]);
    expect(await refs()).toEqual({ [d]: 2 });
    await stop(healthy);
  }, 300_000);
});
