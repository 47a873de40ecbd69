import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, migrate, type Pool } from '@tributary/db';
import { qualityEvaluatedFixture } from '@tributary/events/fixtures';
import { stackEnv, uniqueName } from '@tributary/testing';
import { PgPublishRepository } from '../src/data-access/publish-repository.ts';

describe('publish retries', () => {
  const schema = uniqueName('t_publisher_repo');
  let pool: Pool;
  let repo: PgPublishRepository;
  beforeAll(async () => {
    await migrate({ url: stackEnv.DATABASE_URL, schema, dirs: [new URL('../migrations/', import.meta.url)] });
    pool = createPool({ url: stackEnv.DATABASE_URL, schema });
    repo = new PgPublishRepository(pool);
  });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });

  const park = (version: string, dueAt: Date) =>
    repo.scheduleRetry({
      evaluated: { ...qualityEvaluatedFixture, dataset_version: version },
      runId: `run-${version}`,
      traceparent: null,
      attempt: 2,
      dueAt,
      reason: 'store unreachable',
    });

  it('when a claimed retry is never finished, then it is taken again once its lease is over, and not before', async () => {
    await park('eval-claimed', new Date(Date.now() - 1000));
    await park('eval-later', new Date(Date.now() + 60_000));

    const first = await repo.claimDue(10, 1500);
    expect(first.map((d) => d.evaluated.dataset_version)).toEqual(['eval-claimed']);
    expect(first[0]).toMatchObject({ runId: 'run-eval-claimed', attempt: 2 });
    // Its replica dies (or the retry throws): nothing parks or clears the row.
    expect(await repo.claimDue(10, 1500)).toEqual([]);

    await new Promise((r) => setTimeout(r, 2000));
    const again = await repo.claimDue(10, 1500);
    expect(again.map((d) => d.evaluated.dataset_version)).toEqual(['eval-claimed']);
    expect(again[0]!.attempt).toBe(2);
  });
});
