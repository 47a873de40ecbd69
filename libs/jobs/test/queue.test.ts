import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPool, withTransaction, type Pool } from '@tributary/db';
import { createLogger, currentRunId, startTracing, withSpan } from '@tributary/telemetry';
import { stackEnv, startPrivatePostgres, uniqueName, waitFor } from '@tributary/testing';
import { JobQueue, jobsSchema, retryPolicy, type JobAttempt, type JobDefinition } from '../src/index.ts';

const logger = createLogger({ serviceName: 'jobs-test', level: 'silent' });

interface Seen {
  key: string;
  attempt: number;
  expired: boolean;
  retryInMs: number | undefined;
  runId: string | undefined;
  at: number;
}

describe('job queue', () => {
  const cleanup: (() => Promise<void>)[] = [];
  // Spans get trace ids (without tracing there is no trace to carry).
  let tracing: { shutdown(): Promise<void> };
  beforeAll(() => {
    tracing = startTracing({ serviceName: 'jobs-test' });
  });
  afterAll(() => tracing.shutdown());
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  /** A queue of one job in a schema of its own; `run` answers what each attempt does. */
  async function queueWith(
    schema: string,
    def: Partial<JobDefinition<{ key: string }>> & {
      run: (data: { key: string }, attempt: JobAttempt) => Promise<{ retry: string } | undefined>;
    },
  ) {
    const pool: Pool = createPool({ url: stackEnv.DATABASE_URL, schema });
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    const queue = new JobQueue({ pool, schema, logger, superviseMs: 1000 });
    const job = queue.define<{ key: string }>({
      name: 'test-job',
      retry: retryPolicy([300, 600]),
      leaseMs: 60_000,
      span: (data) => ({ name: 'test-job attempt', attributes: { key: data.key } }),
      ...def,
    });
    await queue.start();
    let stopped = false;
    let polling = Promise.resolve();
    const loop = async () => {
      while (!stopped) {
        // A failed round is the job worker's to log (intervalPoller); the next one goes on.
        await queue.poll().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    cleanup.push(async () => {
      stopped = true;
      await polling;
      await queue.stop();
      await pool.query(`DROP SCHEMA IF EXISTS ${jobsSchema(schema)} CASCADE`).catch(() => undefined);
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await pool.end();
    });
    return {
      pool,
      queue,
      job,
      /** Starts polling every 100 ms, as the job worker does. */
      work: () => {
        polling = loop();
      },
    };
  }

  it('when an attempt asks for a retry, then it runs again after each delay of the policy, in the trace it was sent from, and the last attempt has no retry left', async () => {
    const seen: Seen[] = [];
    const q = await queueWith(uniqueName('t_jobs'), {
      run: (data, a) => {
        seen.push({ key: data.key, ...a, runId: currentRunId(), at: Date.now() });
        return Promise.resolve(a.retryInMs === undefined ? undefined : { retry: 'not yet' });
      },
    });
    const runId = await withSpan('a run', {}, async (span) => {
      await q.job.send({ key: 'k1' });
      return span.spanContext().traceId;
    });
    q.work();
    await waitFor(() => (seen.length === 3 ? true : undefined), {
      what: 'three attempts',
      timeoutMs: 15_000,
    });
    expect(
      seen.map(({ key, attempt, expired, retryInMs }) => ({ key, attempt, expired, retryInMs })),
    ).toEqual([
      { key: 'k1', attempt: 1, expired: false, retryInMs: 300 },
      { key: 'k1', attempt: 2, expired: false, retryInMs: 600 },
      { key: 'k1', attempt: 3, expired: false, retryInMs: undefined },
    ]);
    expect(seen.every((s) => s.runId === runId)).toBe(true);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(300);
    expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(600);
  });

  it('when a job is sent in a transaction that rolls back, then it never runs', async () => {
    const seen: string[] = [];
    const q = await queueWith(uniqueName('t_jobs'), {
      run: (data) => {
        seen.push(data.key);
        return Promise.resolve(undefined);
      },
    });
    await withTransaction(q.pool, async (tx) => {
      await q.job.send({ key: 'kept' }, { tx });
    });
    await withTransaction(q.pool, async (tx) => {
      await q.job.send({ key: 'rolled-back' }, { tx });
      throw new Error('rollback');
    }).catch(() => undefined);
    q.work();
    await waitFor(() => (seen.includes('kept') ? true : undefined), { what: 'kept job run' });
    // A job sent after both runs after them: when it has run, the rolled-back one would have too.
    await q.job.send({ key: 'sentinel' });
    await waitFor(() => (seen.includes('sentinel') ? true : undefined), { what: 'sentinel job run' });
    expect(seen).toEqual(['kept', 'sentinel']);
  });

  it('when a held attempt is never finished, then it is taken again once its lease is over, and not before', async () => {
    const schema = uniqueName('t_jobs');
    let release = () => undefined as void;
    const hung = new Promise<void>((resolve) => (release = resolve));
    const dead: Seen[] = [];
    // The replica that takes the job first hangs in it (as one that died would never finish it).
    const first = await queueWith(schema, {
      leaseMs: 2000,
      run: async (data, a) => {
        dead.push({ key: data.key, ...a, runId: undefined, at: Date.now() });
        await hung;
        return undefined;
      },
    });
    await first.job.send({ key: 'k2' });
    const held = first.queue.poll();
    await waitFor(() => (dead.length === 1 ? true : undefined), { what: 'first holder' });

    const seen: Seen[] = [];
    const second = new JobQueue({ pool: first.pool, schema, logger, superviseMs: 1000 });
    second.define<{ key: string }>({
      name: 'test-job',
      retry: retryPolicy([300, 600]),
      leaseMs: 2000,
      span: () => ({ name: 'test-job attempt', attributes: {} }),
      run: (data, a) => {
        seen.push({ key: data.key, ...a, runId: undefined, at: Date.now() });
        return Promise.resolve(undefined);
      },
    });
    await second.start();
    cleanup.push(() => second.stop());
    // Within the lease, the held job is left to its holder.
    expect(await second.poll()).toBe(0);
    await waitFor(async () => ((await second.poll()) === 1 ? true : undefined), {
      what: 'the job taken again',
      timeoutMs: 15_000,
    });
    expect(seen).toEqual([
      expect.objectContaining({ key: 'k2', attempt: 2, expired: true, retryInMs: 600 }) as unknown,
    ]);
    expect(seen[0]!.at - dead[0]!.at).toBeGreaterThanOrEqual(2000);
    // The first holder wakes up: its attempt was taken over, it settles nothing.
    release();
    await held;
    expect(await second.poll()).toBe(0);
  });

  it('when the database restarts, then the queue goes on without crashing and runs what is sent after', async () => {
    const postgres = await startPrivatePostgres();
    cleanup.push(() => Promise.resolve(postgres.stop()));
    const schema = uniqueName('t_jobs');
    const pool = createPool({ url: postgres.url, schema });
    await pool.query(`CREATE SCHEMA ${schema}`);
    cleanup.push(() => pool.end());
    const seen: string[] = [];
    const queue = new JobQueue({ pool, schema, logger, superviseMs: 1000 });
    const job = queue.define<{ key: string }>({
      name: 'test-job',
      retry: retryPolicy([300]),
      leaseMs: 60_000,
      span: () => ({ name: 'test-job attempt', attributes: {} }),
      run: (data) => {
        seen.push(data.key);
        return Promise.resolve(undefined);
      },
    });
    await queue.start();
    let stopped = false;
    const rounds = (async () => {
      while (!stopped) {
        // A failed round is the job worker's to log (intervalPoller); the next one goes on.
        await queue.poll().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    cleanup.push(async () => {
      stopped = true;
      await rounds;
      await queue.stop();
    });
    await job.send({ key: 'before' });
    await waitFor(() => (seen.includes('before') ? true : undefined), { what: 'first job run' });

    postgres.restart();
    // Sending fails while the server is down; once it is back, the job is stored and run.
    await waitFor(() => job.send({ key: 'after' }).then(() => true), {
      what: 'a job sent after the restart',
      timeoutMs: 30_000,
    });
    await waitFor(() => (seen.includes('after') ? true : undefined), {
      what: 'job run after the restart',
      timeoutMs: 30_000,
    });
  });
});
