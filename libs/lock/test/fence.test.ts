import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '@tributary/errors';
import { stackEnv, uniqueName } from '@tributary/testing';
import { MasterLock, compareAndSetVersion } from '../src/index.ts';

const schema = uniqueName('lock');
const pool = new pg.Pool({ connectionString: stackEnv.DATABASE_URL, options: `-c search_path=${schema}` });
const lock = new MasterLock({ redisUrls: [stackEnv.REDIS_URL], ttlMs: 2000, maxWaitMs: 20_000 });

/** A merge as the preprocessor does it: read the current version, work, commit version+1 fenced. */
async function merge(dataset: string, work: () => Promise<void>): Promise<number> {
  const { rows } = await pool.query<{ version: string }>('SELECT version FROM masters WHERE dataset = $1', [
    dataset,
  ]);
  const read = Number(rows[0]!.version);
  await work();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await compareAndSetVersion(client, 'masters', dataset, read, read + 1);
    await client.query('INSERT INTO commits (dataset, version) VALUES ($1, $2)', [dataset, read + 1]);
    await client.query('COMMIT');
    return read + 1;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

beforeAll(async () => {
  await pool.query(`CREATE SCHEMA ${schema}`);
  await pool.query('CREATE TABLE masters (dataset text PRIMARY KEY, version bigint NOT NULL)');
  await pool.query(
    'CREATE TABLE commits (dataset text NOT NULL, version bigint NOT NULL, UNIQUE (dataset, version))',
  );
});
afterAll(async () => {
  await pool.query(`DROP SCHEMA ${schema} CASCADE`);
  await pool.end();
  await lock.close();
});

describe('master lock and fenced commit', () => {
  it('when a holder stalls past its lock and another commits meanwhile, then the fence refuses the stale commit', async () => {
    const dataset = uniqueName('ds');
    await pool.query('INSERT INTO masters VALUES ($1, 0)', [dataset]);

    // A takes the lock without extension and stalls longer than its TTL.
    await lock.acquire(dataset, 500); // never released: it expires under the stalled holder
    const freshCommitted = Promise.withResolvers<number>();
    // A stalls until B has committed: its work outlives its lock.
    const staleMerge = merge(dataset, () => freshCommitted.promise.then(() => undefined));
    // B waits for the lock, which expires under A, and commits first.
    const fresh = await lock.withLock(dataset, () => merge(dataset, () => Promise.resolve()));
    freshCommitted.resolve(fresh);
    const staleResult = await staleMerge.catch((e: unknown) => e);

    expect(fresh).toBe(1);
    expect(staleResult).toBeInstanceOf(AppError);
    expect((staleResult as AppError).code).toBe('LOCK_ERR_FENCED');
    const { rows } = await pool.query('SELECT version FROM commits WHERE dataset = $1', [dataset]);
    expect(rows).toEqual([{ version: '1' }]);
  });

  it('when many contenders merge at once under the lock, then the merges are serial and versions consecutive', async () => {
    const dataset = uniqueName('ds');
    await pool.query('INSERT INTO masters VALUES ($1, 0)', [dataset]);
    let inside = 0;
    let maxInside = 0;
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        lock.withLock(dataset, () =>
          merge(dataset, async () => {
            inside += 1;
            maxInside = Math.max(maxInside, inside);
            await sleep(50);
            inside -= 1;
          }),
        ),
      ),
    );
    expect(maxInside).toBe(1);
    expect(results.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('when the lock stays taken past the wait budget, then the contender gets a retriable LOCK_ERR_TIMEOUT', async () => {
    const dataset = uniqueName('ds');
    const impatient = new MasterLock({ redisUrls: [stackEnv.REDIS_URL], ttlMs: 5000, maxWaitMs: 400 });
    const held = await lock.acquire(dataset, 5000);
    try {
      const err = await impatient.withLock(dataset, () => Promise.resolve()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'LOCK_ERR_TIMEOUT', retriable: true });
    } finally {
      await held.release();
      await impatient.close();
    }
  });
});
