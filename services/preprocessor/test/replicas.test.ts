import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PENGUIN_COUNT, penguinRows } from '@tributary/testing';
import {
  csvBytes,
  PreprocessorProcesses,
  testEnvironment,
  writeRawBatch,
  type TestEnvironment,
} from './helpers.ts';

const processes = new PreprocessorProcesses(() => t.env);
let t: TestEnvironment;

const replica = () => processes.start();

beforeAll(async () => {
  t = await testEnvironment();
});

afterAll(async () => {
  processes.killAll();
  await t?.dispose();
});

describe('two replicas', () => {
  it('when five batches of one dataset arrive at once on two replicas, then merges are serial and versions run 1..5', async () => {
    await replica();
    await replica();
    const versions = await t.readVersions();
    const rows = await penguinRows({ count: PENGUIN_COUNT });
    const events = await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        writeRawBatch(t.storeDir, 'penguins', `rep-b${i}`, [
          { path: 'rows.csv', role: 'TABLE', bytes: csvBytes(rows.slice(i * 40, i * 40 + 40)) },
        ]),
      ),
    );
    // Keyed by batch, so the batches spread over partitions and both replicas validate at once:
    // only the master lock and the fence keep the merges in single file.
    await Promise.all(events.map((e) => t.publish(e, e.batch_id)));
    const all = await versions.waitForCount(5, 120_000);
    expect(all.map((v) => v.master_version).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(all.flatMap((v) => v.batch_ids).sort()).toEqual(events.map((e) => e.batch_id).sort());
    const byVersion = [...all].sort((a, b) => a.master_version - b.master_version);
    byVersion.forEach((v, i) => expect(v.row_count).toBe((i + 1) * 40));

    const { rows: merges } = await t.pool.query<{
      version: number;
      merge_started_at: Date;
      committed_at: Date;
    }>(`SELECT version, merge_started_at, committed_at FROM master_versions ORDER BY version`);
    expect(merges.map((m) => m.version)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < merges.length; i++) {
      // Each merge began (under the lock) after the previous one committed.
      expect(merges[i]!.merge_started_at.getTime()).toBeGreaterThanOrEqual(
        merges[i - 1]!.committed_at.getTime(),
      );
    }
    const { rows: current } = await t.pool.query('SELECT row_count, master_version FROM current_master_rows');
    expect(current).toEqual([{ row_count: 200, master_version: 5 }]);
  }, 240_000);
});
