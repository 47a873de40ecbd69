import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool, migrate, type Pool } from '@tributary/db';
import { stackEnv, uniqueName } from '@tributary/testing';
import { NotificationsRepository } from '../src/data-access/notifications-repository.ts';

const LEASE_MS = 60_000;

/** Rejects when `promise` takes longer than `ms`: a claim blocked on another replica's lock. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('notifications repository', () => {
  const schema = uniqueName('t_notifier_repo');
  let pool: Pool;
  let repo: NotificationsRepository;
  beforeAll(async () => {
    await migrate({ url: stackEnv.DATABASE_URL, schema, dirs: [new URL('../migrations/', import.meta.url)] });
    pool = createPool({ url: stackEnv.DATABASE_URL, schema });
    repo = new NotificationsRepository(pool);
  });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });
  beforeEach(() => pool.query('TRUNCATE notifications'));

  const RUN_TRACEPARENT = `00-${'c'.repeat(32)}-${'d'.repeat(16)}-01`;

  /** A claim as the consumer makes it, then aged as if its replica had died `ageMs` ago. */
  async function claimedAgo(
    version: string,
    ageMs: number,
    traceparent: string | null = null,
  ): Promise<void> {
    expect(await repo.claim('slack', version, { text: version, blocks: [] }, traceparent)).toBe(true);
    await pool.query(
      `UPDATE notifications SET claimed_at = now() - $2::integer * interval '1 millisecond'
       WHERE dataset_version = $1`,
      [version, ageMs],
    );
  }

  it('when claims are expired, within their lease or parked, then claimDue takes the expired and due ones, an expired one as its next attempt', async () => {
    await claimedAgo('v-in-flight', 1000);
    // Claimed in its run's trace: the run's traceparent comes back with it.
    await claimedAgo('v-crashed', 10 * 60_000, RUN_TRACEPARENT);
    await claimedAgo('v-due', 1000);
    await repo.scheduleRetry('slack', 'v-due', { text: 'v-due' }, 2, new Date(Date.now() - 1000), 'boom');
    await claimedAgo('v-later', 1000);
    await repo.scheduleRetry(
      'slack',
      'v-later',
      { text: 'v-later' },
      2,
      new Date(Date.now() + 60_000),
      'boom',
    );

    const taken = await repo.claimDue(10, LEASE_MS);
    expect(taken.sort((a, b) => a.datasetVersion.localeCompare(b.datasetVersion))).toEqual([
      {
        kind: 'slack',
        datasetVersion: 'v-crashed',
        payload: { text: 'v-crashed', blocks: [] },
        attempt: 2,
        expired: true,
        traceparent: RUN_TRACEPARENT,
      },
      {
        kind: 'slack',
        datasetVersion: 'v-due',
        payload: { text: 'v-due' },
        attempt: 2,
        expired: false,
        traceparent: null,
      },
    ]);
    const { rows } = await pool.query<{ dataset_version: string; status: string; attempt: number }>(
      `SELECT dataset_version, status, attempt FROM notifications ORDER BY dataset_version`,
    );
    expect(rows).toEqual([
      { dataset_version: 'v-crashed', status: 'sending', attempt: 2 },
      { dataset_version: 'v-due', status: 'sending', attempt: 2 },
      { dataset_version: 'v-in-flight', status: 'sending', attempt: 1 },
      { dataset_version: 'v-later', status: 'retrying', attempt: 2 },
    ]);
    // Taking a claim renews it: the next poll leaves it to the replica now sending it.
    expect(await repo.claimDue(10, LEASE_MS)).toEqual([]);
  });

  it('when another replica is taking an expired claim, then claimDue skips it rather than waiting or taking it twice', async () => {
    await claimedAgo('v-locked', 10 * 60_000);
    await claimedAgo('v-free', 10 * 60_000);
    const other = await pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT 1 FROM notifications WHERE dataset_version = 'v-locked' FOR UPDATE`);
      const taken = await within(5000, repo.claimDue(10, LEASE_MS));
      expect(taken.map((t) => t.datasetVersion)).toEqual(['v-free']);
    } finally {
      await other.query('ROLLBACK');
      other.release();
    }
    const later = await repo.claimDue(10, LEASE_MS);
    expect(later.map((t) => t.datasetVersion)).toEqual(['v-locked']);
  });
});
