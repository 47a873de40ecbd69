import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PENGUIN_COUNT, penguinRows, type RunningProcess } from '@tributary/testing';
import {
  csvBytes,
  PreprocessorProcesses,
  testEnvironment,
  writeRawBatch,
  type TestEnvironment,
} from './helpers.ts';

const processes = new PreprocessorProcesses(() => t.env);
let t: TestEnvironment;
let rows: Awaited<ReturnType<typeof penguinRows>>;

/** A preprocessor process on the test's topics, schema and store, killed at the end. */
const preprocessor = (extra?: Record<string, string>) => processes.start(extra);
const stop = (p: RunningProcess) => processes.stop(p);

beforeAll(async () => {
  t = await testEnvironment({ SHUTDOWN_GRACE_MS: '5000' });
  rows = await penguinRows({ count: PENGUIN_COUNT });
});

afterAll(async () => {
  processes.killAll();
  await t?.dispose();
});

describe('exactly once', () => {
  it('when the preprocessor is killed before and after the commit, then each batch is in the master once and each version announced once', async () => {
    // 1. Killed after writing the master parts, before the commit.
    const crashBefore = await preprocessor({ FAULT_INJECT: 'crash-before-commit' });
    const versions = await t.readVersions();
    const b1 = await writeRawBatch(t.storeDir, 'penguins', 'eo-b1', [
      { path: 'rows.csv', role: 'TABLE', bytes: csvBytes(rows.slice(0, 50)) },
    ]);
    await t.publish(b1);
    expect(await crashBefore.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const { rows: pending } = await t.pool.query<{ md5: string }>('SELECT md5 FROM pending_parts');
    expect(pending).toHaveLength(1);
    const orphan = path.join(
      t.storeDir,
      'dvc/files/md5',
      pending[0]!.md5.slice(0, 2),
      pending[0]!.md5.slice(2),
    );
    await expect(fs.stat(orphan)).resolves.toBeTruthy();
    expect((await t.pool.query('SELECT * FROM master_versions')).rows).toEqual([]);

    // A healthy replica takes the batch over and reuses the part the crashed attempt wrote.
    let healthy = await preprocessor();
    const [v1] = await versions.waitForCount(1, 90_000);
    expect(v1).toMatchObject({ master_version: 1, row_count: 50, batch_ids: ['eo-b1'] });
    const { rows: parts } = await t.pool.query<{ md5: string }>(
      `SELECT md5 FROM master_files WHERE kind = 'part'`,
    );
    expect(parts.map((p) => p.md5)).toEqual([pending[0]!.md5]);
    expect((await t.pool.query('SELECT * FROM pending_parts')).rows).toEqual([]);
    await stop(healthy);

    // 2. Killed after the commit, before the offset is committed: the redelivery finds it merged.
    const crashAfter = await preprocessor({ FAULT_INJECT: 'crash-after-commit' });
    const b2 = await writeRawBatch(t.storeDir, 'penguins', 'eo-b2', [
      { path: 'rows.csv', role: 'TABLE', bytes: csvBytes(rows.slice(50, 80)) },
    ]);
    await t.publish(b2);
    expect(await crashAfter.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const { rows: committed } = await t.pool.query('SELECT version FROM master_versions ORDER BY version');
    expect(committed).toEqual([{ version: 1 }, { version: 2 }]);

    healthy = await preprocessor();
    const b3 = await writeRawBatch(t.storeDir, 'penguins', 'eo-b3', [
      { path: 'rows.csv', role: 'TABLE', bytes: csvBytes(rows.slice(80, 90)) },
    ]);
    await t.publish(b3);
    const all = await versions.waitForCount(3, 90_000);
    expect(all.map((v) => [v.master_version, v.batch_ids, v.row_count])).toEqual([
      [1, ['eo-b1'], 50],
      [2, ['eo-b2'], 80],
      [3, ['eo-b3'], 90],
    ]);
    // Every delivery of batch.ingested is handled and committed, the outbox published and the topic
    // read to its end: a duplicate version would be among the messages by now.
    await t.settled();
    expect(versions.raw).toHaveLength(3);
    const { rows: batches } = await t.pool.query(
      'SELECT batch_id, master_version FROM processed_batches ORDER BY batch_id',
    );
    expect(batches).toEqual([
      { batch_id: 'eo-b1', master_version: 1 },
      { batch_id: 'eo-b2', master_version: 2 },
      { batch_id: 'eo-b3', master_version: 3 },
    ]);
    const { rows: keys } = await t.pool.query(
      `SELECT sum(row_count)::int AS n FROM master_files WHERE kind = 'part' AND removed_in IS NULL`,
    );
    expect(keys).toEqual([{ n: 90 }]);
    await stop(healthy);
  }, 300_000);
});
