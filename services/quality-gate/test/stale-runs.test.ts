import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { refreshJobSchema } from '@tributary/catalog';
import { createPool } from '@tributary/db';
import { createObjectStore } from '@tributary/storage';
import { createLogger } from '@tributary/telemetry';
import { stackEnv, waitFor, waitForSettled } from '@tributary/testing';
import { ObjectArtifactStore } from '../src/data-access/artifact-store.ts';
import { StoreMasterReader } from '../src/data-access/master-reader.ts';
import { MasterVersionsRepository } from '../src/data-access/master-versions-repository.ts';
import { RunsRepository } from '../src/data-access/runs-repository.ts';
import { DuckDbEngine } from '../src/data-access/duckdb-engine.ts';
import { wordListToxicity } from '../src/data-access/toxicity.ts';
import type { RefreshRun } from '../src/domain/ports.ts';
import { refreshDataset } from '../src/domain/refresh-dataset.ts';
import { runSettings } from '../src/domain/refresh-jobs.ts';
import { canonicalGate, startGate, storedRuns } from './harness.ts';

/**
 * A replica that dies mid-run leaves its row `running`: these tests write such rows (old heartbeat)
 * next to a live one (fresh heartbeat) and start two replicas of the gate on the same schema.
 */
describe('quality-gate stale runs', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function twoReplicas(extra: Record<string, string>) {
    const { ws, source, env: settings } = await canonicalGate(cleanup);
    const env = settings({
      REFRESH_RETRY_POLL_MS: '100',
      // Far above the test's duration: only the rows written with an old heartbeat are stale.
      REFRESH_STALE_AFTER_MS: '60000',
      ...extra,
    });
    const first = await startGate(env, { captureLogs: true });
    const second = await startGate(env, { captureLogs: true });
    const pool = createPool({ url: stackEnv.DATABASE_URL, schema: env.DATABASE_SCHEMA! });
    cleanup.push(async () => {
      await second.stop(false);
      await first.stop(false);
      await storedRuns(env.DATABASE_SCHEMA!, true);
      await pool.end();
    });
    /**
     * A run left `running` in `task` at `attempt`, last heard of `ageMs` ago; with the traceparent of
     * its first span (its trace id is the run id) unless `traced` is false, as runs stored before it.
     */
    const runningRow = async (attempt: number, ageMs: number, task: string, traced = true) => {
      const runId = randomBytes(16).toString('hex');
      const row = {
        datasetVersion: `eval-left-${randomBytes(4).toString('hex')}`,
        runId,
        traceparent: traced ? `00-${runId}-${randomBytes(8).toString('hex')}-01` : null,
      };
      await pool.query(
        `INSERT INTO refresh_runs (dataset_version, job, dataset, trigger, status, attempt, run_id, traceparent,
           current_task, heartbeat_at, started_at)
         VALUES ($1, 'eval', 'eval', 'MANUAL', 'running', $2, $3, $4, $5,
           now() - make_interval(secs => $6::double precision / 1000),
           now() - make_interval(secs => $6::double precision / 1000) - interval '1 minute')`,
        [row.datasetVersion, attempt, row.runId, row.traceparent, task, ageMs],
      );
      return row;
    };
    const runs = new RunsRepository(pool);
    const run = async (datasetVersion: string): Promise<RefreshRun> => (await runs.get(datasetVersion))!;
    const metricSum = async (line: RegExp) => (await first.metric(line)) + (await second.metric(line));
    return { first, second, runningRow, run, metricSum, pool, runs, ws, source };
  }

  it('when a run is stuck in running with retries left, then one replica resumes it through a retry and it completes once', async () => {
    const gate = await twoReplicas({ REFRESH_RETRY_DELAYS_MS: '300,300' });
    const live = await gate.runningRow(1, 0, 'generate_candidate');
    const stale = await gate.runningRow(1, 10 * 60_000, 'generate_candidate');
    // A run stored before traceparents were: resumed as well, in a trace of its own.
    const older = await gate.runningRow(1, 10 * 60_000, 'generate_candidate', false);

    for (const left of [stale, older]) {
      const done = await waitFor(
        async () => {
          const r = await gate.run(left.datasetVersion);
          return r.status === 'passed' || r.status === 'failed' ? r : undefined;
        },
        { what: 'recovered run', timeoutMs: 20_000 },
      );
      // Recovered once (one retry: attempt 2), under the run id it was started with.
      expect(done).toMatchObject({ status: 'passed', attempt: 2, runId: left.runId, failedTask: null });
    }
    await gate.first.evaluated.waitForMessages(2);
    await Promise.all([gate.first.settled(), gate.second.settled()]);
    const messages = gate.first.evaluated.messages;
    const events = await gate.first.decodedEvaluated();
    expect(events.map((e) => e.dataset_version).sort()).toEqual(
      [stale.datasetVersion, older.datasetVersion].sort(),
    );
    const i = events.findIndex((e) => e.dataset_version === stale.datasetVersion);
    expect(events[i]).toMatchObject({ run_id: stale.runId, passed: true, status: 'EVALUATED' });
    // The retry continued the run's trace: its event's traceparent is in the trace of the run id.
    expect(messages[i]!.headers.traceparent?.split('-')[1]).toBe(stale.runId);
    expect(events[1 - i]).toMatchObject({ run_id: older.runId, passed: true });
    // Passed runs are counted by the publisher, where they end; the gate only times its part.
    expect(await gate.metricSum(/^dag_status\{/)).toBe(0);
    expect(await gate.metricSum(/^dag_duration_seconds_count\{.*status="success"/)).toBe(2);

    // The live run (fresh heartbeat) is not taken.
    expect(await gate.run(live.datasetVersion)).toMatchObject({ status: 'running', attempt: 1 });
  });

  it('when a run is stuck in running with no retry left, then it ends failed naming the staleness and quality.evaluated is emitted once', async () => {
    const gate = await twoReplicas({ REFRESH_RETRY_DELAYS_MS: '200,400' });
    const live = await gate.runningRow(3, 0, 'quality_gate');
    const stale = await gate.runningRow(3, 10 * 60_000, 'generate_candidate');

    const done = await waitFor(
      async () => {
        const r = await gate.run(stale.datasetVersion);
        return r.status === 'running' ? undefined : r;
      },
      { what: 'failed stale run', timeoutMs: 20_000 },
    );
    expect(done).toMatchObject({
      status: 'failed',
      attempt: 3,
      failedTask: 'generate_candidate',
      runId: stale.runId,
      reportUri: null,
    });
    expect(done.finishedAt).not.toBeNull();
    expect(done.reason).toContain('generate_candidate failed after 3 attempts: run is stale');
    expect(done.reason).toContain('no heartbeat for more than 60000 ms');

    await waitFor(() => (gate.first.evaluated.messages.length > 0 ? true : undefined), {
      what: 'quality.evaluated',
    });
    // Another round of both replicas' checks: still one event, one failed run.
    await Promise.all([gate.first.settled(), gate.second.settled()]);
    const events = await gate.first.decodedEvaluated();
    expect(events).toHaveLength(1);
    // Enqueued by the recovery, it carries the run's trace, not the poller's.
    expect(gate.first.evaluated.messages[0]!.headers.traceparent).toBe(stale.traceparent);
    expect(events[0]).toMatchObject({
      dataset_version: stale.datasetVersion,
      run_id: stale.runId,
      passed: false,
      status: 'TASK_FAILED',
      failed_task: 'generate_candidate',
      failure_reason: done.reason,
      trigger: 'MANUAL',
      candidate_rows: 0,
    });
    expect(await gate.metricSum(/^dag_status\{.*status="failed"/)).toBe(1);
    expect(await gate.run(stale.datasetVersion)).toEqual(done);
    // The recovery is logged in the run's trace.
    const recovered = [...gate.first.logs, ...gate.second.logs].filter(
      (l) => l.msg === 'stale dataset refresh run recovered',
    );
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toMatchObject({ dataset_version: stale.datasetVersion, dag_run_id: stale.runId });

    const untouched = await gate.run(live.datasetVersion);
    expect(untouched).toMatchObject({ status: 'running', attempt: 3, reason: null, finishedAt: null });
  });

  it('when a run is recovered as stale while its replica still executes it, then that replica stops without a report or an event', async () => {
    const gate = await twoReplicas({ REFRESH_RETRY_DELAYS_MS: '60000' });
    const datasetVersions: string[] = [];
    // A replica that hangs in generate_candidate past the stale timeout (its heartbeat is aged here),
    // then carries on once the gate recovered its run.
    const result = await refreshDataset(
      { trigger: 'MANUAL', runId: randomBytes(16).toString('hex') },
      {
        settings: runSettings({
          job: 'eval',
          dataset: 'eval',
          spec: refreshJobSchema.parse({ name: 'eval', sources: [gate.source], retry_delays: [60_000] }),
          origin: 'env',
          catalogRevision: null,
        }),
        engine: new DuckDbEngine({
          s3: { region: 'us-east-1' },
          store: createObjectStore(gate.ws.storeUri, { region: 'us-east-1' }),
          scratchDir: path.join(gate.ws.dir, 'scratch'),
          memoryLimit: '256MB',
          threads: 1,
          batchRows: 100,
          toxicityMaxTexts: 200_000,
        }),
        masters: new MasterVersionsRepository(gate.pool),
        masterReader: new StoreMasterReader({ region: 'us-east-1' }),
        store: new ObjectArtifactStore(createObjectStore(gate.ws.storeUri, { region: 'us-east-1' })),
        runs: gate.runs,
        toxicity: wordListToxicity(),
        augmentations: [
          {
            name: 'hang',
            column: 'text',
            async apply(batch) {
              const { rows: running } = await gate.pool.query<{ dataset_version: string }>(
                `UPDATE refresh_runs SET heartbeat_at = now() - interval '10 minutes'
                 WHERE status = 'running' RETURNING dataset_version`,
              );
              datasetVersions.push(...running.map((r) => r.dataset_version));
              await waitFor(
                async () => ((await gate.run(datasetVersions[0]!)).status === 'retrying' ? true : undefined),
                { what: 'stale run recovered', timeoutMs: 20_000 },
              );
              return batch.map((b) => b.value);
            },
          },
        ],
        logger: createLogger({ serviceName: 'qg-test', level: 'silent' }),
      },
    );
    expect(datasetVersions).toHaveLength(1);
    expect(result).toMatchObject({ status: 'superseded', datasetVersion: datasetVersions[0] });
    const run = await gate.run(datasetVersions[0]!);
    expect(run).toMatchObject({ status: 'retrying', attempt: 2, failedTask: 'generate_candidate' });
    expect(run.reason).toContain('generate_candidate attempt 1 failed: run is stale');
    // The superseded attempt neither measured the candidate nor announced anything.
    const written = await readdir(
      path.join(gate.ws.dir, 'store', 'candidates', 'eval', datasetVersions[0]!),
    ).catch(() => []);
    expect(written).not.toContain('quality_report.json');
    await Promise.all([gate.first.settled(), gate.second.settled()]);
    expect(gate.first.evaluated.messages).toHaveLength(0);
  });

  it('when an older release left a run parked for its retry, then a starting replica hands it to a job and the run completes once', async () => {
    const { env: settings } = await canonicalGate(cleanup);
    const env = settings({ REFRESH_RETRY_POLL_MS: '100', REFRESH_STALE_AFTER_MS: '60000' });
    const first = await startGate(env);
    const pool = createPool({ url: stackEnv.DATABASE_URL, schema: env.DATABASE_SCHEMA! });
    cleanup.push(async () => {
      await first.stop(false);
      await storedRuns(env.DATABASE_SCHEMA!, true);
      await pool.end();
    });
    // As the due-retries poller of the older release read it: attempt 2 due a minute ago, no job.
    const runId = randomBytes(16).toString('hex');
    const datasetVersion = `eval-parked-${randomBytes(4).toString('hex')}`;
    await pool.query(
      `INSERT INTO refresh_runs (dataset_version, job, dataset, trigger, status, attempt, next_attempt_at, run_id,
         traceparent, failed_task, reason)
       VALUES ($1, 'eval', 'eval', 'MANUAL', 'retrying', 2, now() - interval '1 minute', $2, $3,
         'ingest_sources', 'ingest_sources attempt 1 failed: storage unreachable')`,
      [datasetVersion, runId, `00-${runId}-${randomBytes(8).toString('hex')}-01`],
    );
    // The replica started before the row has no job for it; the one starting now hands it over.
    const second = await startGate(env);
    cleanup.push(() => second.stop(false));
    const runs = new RunsRepository(pool);
    const done = await waitFor(
      async () => {
        const r = (await runs.get(datasetVersion))!;
        return r.status === 'passed' || r.status === 'failed' ? r : undefined;
      },
      { what: 'the parked run retried', timeoutMs: 20_000 },
    );
    expect(done).toMatchObject({ status: 'passed', attempt: 2, runId });
    await first.evaluated.waitForMessages(1);
    await waitForSettled(first.app);
    await waitForSettled(second.app);
    const events = await first.decodedEvaluated();
    expect(events.map((e) => [e.dataset_version, e.run_id])).toEqual([[datasetVersion, runId]]);
  });
});
