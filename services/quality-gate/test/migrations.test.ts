import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createPool, migrate } from '@tributary/db';
import { stackEnv, uniqueName } from '@tributary/testing';
import { RunsRepository } from '../src/data-access/runs-repository.ts';

const MIGRATIONS = fileURLToPath(new URL('../migrations/', import.meta.url));
const BEFORE_UNIQUE_MASTER_VERSION = [
  '1700000002000_refresh.sql',
  '1700000003000_retries.sql',
  '1700000004000_run-id.sql',
];

/** The migrations a schema migrated with `older` gets next, in order (later ones included). */
async function migrationsAfter(older: string[]): Promise<string[]> {
  return (await readdir(MIGRATIONS))
    .filter((f) => f.endsWith('.sql') && !older.includes(f))
    .sort()
    .map((f) => f.replace(/\.sql$/, ''));
}

describe('quality-gate migrations', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('when a redelivery had started a second run of a master version, then the migration keeps both and marks the later one', async () => {
    const schema = uniqueName('t_quality_gate_migrations');
    const older = await mkdtemp(path.join(tmpdir(), 'qg-migrations-'));
    cleanup.push(() => rm(older, { recursive: true, force: true }));
    for (const file of BEFORE_UNIQUE_MASTER_VERSION) {
      await copyFile(path.join(MIGRATIONS, file), path.join(older, file));
    }
    await migrate({ url: stackEnv.DATABASE_URL, schema, dirs: [older] });
    const pool = createPool({ url: stackEnv.DATABASE_URL, schema });
    cleanup.push(async () => {
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.end();
    });
    await pool.query(
      `INSERT INTO refresh_runs (dataset_version, dataset, trigger, master_version, status, started_at) VALUES
         ('eval-first', 'eval', 'MASTER_VERSIONED', 7, 'passed', now() - interval '2 hours'),
         ('eval-again', 'eval', 'MASTER_VERSIONED', 7, 'passed', now() - interval '1 hour'),
         ('eval-other', 'eval', 'MASTER_VERSIONED', 8, 'passed', now()),
         ('eval-manual', 'eval', 'MANUAL', NULL, 'passed', now())`,
    );

    const applied = await migrate({ url: stackEnv.DATABASE_URL, schema, dirs: [MIGRATIONS] });
    expect(applied).toEqual(await migrationsAfter(BEFORE_UNIQUE_MASTER_VERSION));
    expect(applied[0]).toBe('1700000005000_master-version-once');
    const { rows } = await pool.query<{ dataset_version: string; duplicate_of: string | null }>(
      'SELECT dataset_version, duplicate_of FROM refresh_runs ORDER BY dataset_version',
    );
    expect(rows).toEqual([
      { dataset_version: 'eval-again', duplicate_of: 'eval-first' },
      { dataset_version: 'eval-first', duplicate_of: null },
      { dataset_version: 'eval-manual', duplicate_of: null },
      { dataset_version: 'eval-other', duplicate_of: null },
    ]);

    // From now on a master version runs once; manual runs as often as asked.
    const runs = new RunsRepository(pool);
    const start = (
      datasetVersion: string,
      trigger: 'MANUAL' | 'MASTER_VERSIONED',
      masterVersion: number | null,
    ) =>
      runs.start({
        datasetVersion,
        job: 'eval',
        dataset: 'eval',
        trigger,
        scheduledFor: null,
        masterVersion,
        runId: null,
        traceparent: null,
        settings: null,
        settingsOrigin: null,
        catalogRevision: null,
      });
    expect(await start('eval-third', 'MASTER_VERSIONED', 7)).toBe(false);
    expect(await start('eval-next', 'MASTER_VERSIONED', 9)).toBe(true);
    expect(await start('eval-manual-2', 'MANUAL', null)).toBe(true);
    expect(await start('eval-manual-3', 'MANUAL', null)).toBe(true);
    // A manual or scheduled run records the master version it read (a master source): not unique either.
    expect(await start('eval-manual-4', 'MANUAL', 9)).toBe(true);
    expect(await start('eval-manual-5', 'MANUAL', 9)).toBe(true);
  });

  it('when runs were stored before refresh jobs, then each gets its dataset as job and a scheduled time or master version runs once per job', async () => {
    const schema = uniqueName('t_quality_gate_migrations');
    const older = await mkdtemp(path.join(tmpdir(), 'qg-migrations-'));
    cleanup.push(() => rm(older, { recursive: true, force: true }));
    for (const file of (await readdir(MIGRATIONS)).filter((f) => f < '1700000008000')) {
      await copyFile(path.join(MIGRATIONS, file), path.join(older, file));
    }
    await migrate({ url: stackEnv.DATABASE_URL, schema, dirs: [older] });
    const pool = createPool({ url: stackEnv.DATABASE_URL, schema });
    cleanup.push(async () => {
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.end();
    });
    await pool.query(
      `INSERT INTO refresh_runs (dataset_version, dataset, trigger, scheduled_for, master_version, status) VALUES
         ('eval-scheduled', 'eval', 'SCHEDULE', '2024-01-01T02:00:00Z', NULL, 'passed'),
         ('eval-master', 'eval', 'MASTER_VERSIONED', NULL, 7, 'passed')`,
    );
    const applied = await migrate({ url: stackEnv.DATABASE_URL, schema, dirs: [MIGRATIONS] });
    expect(applied[0]).toBe('1700000008000_refresh-jobs');
    const runs = new RunsRepository(pool);
    expect((await runs.list(10)).map((r) => [r.datasetVersion, r.job, r.dataset]).sort()).toEqual([
      ['eval-master', 'eval', 'eval'],
      ['eval-scheduled', 'eval', 'eval'],
    ]);

    const start = (
      datasetVersion: string,
      job: string,
      trigger: 'SCHEDULE' | 'MASTER_VERSIONED',
      at: { scheduledFor?: string; masterVersion?: number },
    ) =>
      runs.start({
        datasetVersion,
        job,
        dataset: 'eval',
        trigger,
        scheduledFor: at.scheduledFor ?? null,
        masterVersion: at.masterVersion ?? null,
        runId: null,
        traceparent: null,
        settings: null,
        settingsOrigin: 'catalog',
        catalogRevision: 1,
      });
    const two = '2024-01-01T02:00:00.000Z';
    // The same job: once; another job of the same dataset: its own run.
    expect(await start('eval-scheduled-2', 'eval', 'SCHEDULE', { scheduledFor: two })).toBe(false);
    expect(await start('other-scheduled', 'eval-other', 'SCHEDULE', { scheduledFor: two })).toBe(true);
    expect(await start('other-scheduled-2', 'eval-other', 'SCHEDULE', { scheduledFor: two })).toBe(false);
    expect(await start('eval-master-2', 'eval', 'MASTER_VERSIONED', { masterVersion: 7 })).toBe(false);
    expect(await start('other-master', 'eval-other', 'MASTER_VERSIONED', { masterVersion: 7 })).toBe(true);
    expect(await start('other-master-2', 'eval-other', 'MASTER_VERSIONED', { masterVersion: 7 })).toBe(false);
  });
});
