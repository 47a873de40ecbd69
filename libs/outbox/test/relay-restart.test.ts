/**
 * A Postgres restart under a running relay (on a server of the test's own, so the shared stack is
 * not disturbed): the leader's session is terminated (57P01) while it holds the lock and LISTENs.
 * The process must live through it, take the lock again, and publish every row once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, migrate, withTransaction, type Pool } from '@tributary/db';
import { masterVersioned } from '@tributary/events';
import { masterVersionedFixture } from '@tributary/events/fixtures';
import {
  collectMessages,
  serviceEnv,
  startPrivatePostgres,
  startTsProcess,
  testKafka,
  uniqueName,
  waitFor,
  type PrivatePostgres,
  type RunningProcess,
} from '@tributary/testing';
import { OUTBOX_ID_HEADER, enqueueEvent, outboxMigrations } from '../src/index.ts';

const schema = uniqueName('outbox_restart');
const prefix = `${schema}.`;
let postgres: PrivatePostgres;
let pool: Pool;
let relay: RunningProcess | undefined;

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  await migrate({ url: postgres.url, schema, dirs: [outboxMigrations] });
  pool = createPool({ url: postgres.url, schema });
  const admin = testKafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: `${prefix}master.versioned`, numPartitions: 1 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
});

afterAll(async () => {
  relay?.child.kill('SIGKILL');
  await pool?.end();
  postgres?.stop();
});

async function enqueue(from: number, to: number): Promise<void> {
  await withTransaction(pool, async (client) => {
    for (let i = from; i <= to; i++) {
      await enqueueEvent(client, masterVersioned, {
        ...masterVersionedFixture,
        event_id: `evt-${i}`,
        master_version: i,
      });
    }
  });
}

describe('outbox relay and a database restart', () => {
  it('when Postgres restarts under the leader, then the relay survives, leads again and publishes every row once', async () => {
    const collector = await collectMessages(testKafka(), `${prefix}master.versioned`);
    relay = startTsProcess(
      new URL('./fixtures/relay-process.ts', import.meta.url),
      serviceEnv({ SCHEMA: schema, TOPIC_PREFIX: prefix, DATABASE_URL: postgres.url }),
    );
    await enqueue(1, 5);
    await collector.waitForMessages(5, 45_000);
    expect(relay.stdout()).toContain('is the leader');

    postgres.restart();
    // Rows written after the restart reach Kafka only if the relay lived and took the lock again.
    await waitFor(() => enqueue(6, 10).then(() => true), {
      timeoutMs: 20_000,
      what: 'an enqueue after the restart',
    });
    await collector.waitForMessages(10, 45_000);
    await waitFor(
      async () => {
        const { rows } = await pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
        );
        return rows[0]!.n === 0 ? true : undefined;
      },
      { what: 'every row marked published' },
    );
    await collector.stop();

    expect(relay.child.exitCode, relay.stderr()).toBeNull();
    expect(relay.stdout().match(/is the leader/g)?.length).toBeGreaterThanOrEqual(2);
    const ids = collector.messages.map((m) => m.headers[OUTBOX_ID_HEADER]);
    expect(ids).toHaveLength(10);
    expect(new Set(ids).size).toBe(10);
  });
});
