import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, migrate, withTransaction } from '@tributary/db';
import { masterVersioned } from '@tributary/events';
import { masterVersionedFixture } from '@tributary/events/fixtures';
import {
  collectMessages,
  serviceEnv,
  stackEnv,
  startTsProcess,
  testKafka,
  uniqueName,
  waitFor,
  type RunningProcess,
} from '@tributary/testing';
import { OUTBOX_ID_HEADER, enqueueEvent, outboxMigrations } from '../src/index.ts';

const ROWS = 200;
const fixture = new URL('./fixtures/relay-process.ts', import.meta.url);
const schema = uniqueName('outbox');
const prefix = `${schema}.`;
const pool = createPool({ url: stackEnv.DATABASE_URL, schema });
const procs: RunningProcess[] = [];

beforeAll(async () => {
  await migrate({ url: stackEnv.DATABASE_URL, schema, dirs: [outboxMigrations] });
  const admin = testKafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: `${prefix}master.versioned`, numPartitions: 3 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  // Rows for three datasets, so ordering per key can be checked on three partitions.
  await withTransaction(pool, async (client) => {
    for (let i = 1; i <= ROWS; i++) {
      await enqueueEvent(client, masterVersioned, {
        ...masterVersionedFixture,
        event_id: `evt-${i}`,
        dataset: `ds-${i % 3}`,
        master_version: i,
      });
    }
  });
});

afterAll(async () => {
  for (const p of procs) p.child.kill('SIGKILL');
  const admin = new pg.Pool({ connectionString: stackEnv.DATABASE_URL });
  await admin.query(`DROP SCHEMA ${schema} CASCADE`);
  await admin.end();
  await pool.end();
});

function relay(extra: Record<string, string> = {}): RunningProcess {
  const p = startTsProcess(
    fixture,
    serviceEnv({ SCHEMA: schema, TOPIC_PREFIX: prefix, BATCH_SIZE: '20', ...extra }),
  );
  procs.push(p);
  return p;
}

describe('outbox relay', () => {
  it('when two relays run and the leader is killed between sending and marking, then every row is published exactly once, in order per key', async () => {
    const collector = await collectMessages(testKafka(), `${prefix}master.versioned`);
    // The first relay becomes the leader and will be killed after its third batch reached Kafka unmarked.
    const first = relay({ HANG_AFTER_BATCHES: '3' });
    await waitFor(() => (first.stdout().includes('hanging after send') ? true : undefined), {
      timeoutMs: 45_000,
    });
    const second = relay();
    // The standby bids for leadership and must not get it.
    await waitFor(() => (second.stdout().includes('standby bid refused') ? true : undefined));
    expect(second.stdout()).not.toContain('is the leader');
    first.child.kill('SIGKILL');

    const messages = await collector.waitForMessages(ROWS, 60_000);
    await waitFor(async () => {
      const { rows } = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
      );
      return rows[0]!.n === 0 ? true : undefined;
    });
    await collector.waitForEnd(); // every message in the topic read: a duplicate would be among them
    await collector.stop();

    expect(second.stdout()).toContain('is the leader');
    expect(second.stdout()).toContain('already published by a previous relay');
    const ids = collector.messages.map((m) => m.headers[OUTBOX_ID_HEADER]);
    expect(collector.messages).toHaveLength(ROWS);
    expect(new Set(ids).size).toBe(ROWS);
    for (const key of ['ds-0', 'ds-1', 'ds-2']) {
      const seq = messages
        .filter((m) => m.key === key)
        .map((m) => Number(m.headers[OUTBOX_ID_HEADER]!.split(':')[1]));
      expect(seq).toEqual([...seq].sort((a, b) => a - b));
    }
  });
});
