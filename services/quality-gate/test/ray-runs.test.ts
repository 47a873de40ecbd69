/**
 * A refresh job declaring `engine: ray`, run by the service: when the cluster cannot be reached the
 * run follows the job's retry policy, then ends failed naming the cluster, announced as any failed
 * run (quality.evaluated TASK_FAILED, which the notifier pages), with nothing left to publish. On a
 * real one-node cluster, a run cancelled by an operator (on the replica executing it, or on another
 * one) stops its Ray job, ends cancelled with the reason and announces nothing.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '@tributary/db';
import { createObjectStore, createS3Client, type ObjectStore } from '@tributary/storage';
import { applyDeclarations, stackEnv, stackS3, waitFor } from '@tributary/testing';
import { RunsRepository } from '../src/data-access/runs-repository.ts';
import type { RefreshRun } from '../src/domain/ports.ts';
import { AUTH, gateEnv, passingBaseline, sourceRows, startGate, type RunningGate } from './harness.ts';

const RAY_ADDRESS = process.env.RAY_ADDRESS ?? 'http://127.0.0.1:8265';
const RAY_PYTHON =
  process.env.RAY_JOB_PYTHON ?? path.join(process.env.HOME ?? '', '.cache/tributary/ray-venv/bin/python');
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const bucket = `tributary-qg-ray-${randomUUID()}`;
const bucketStore = createObjectStore(`s3://${bucket}`, stackS3);
let gate: RunningGate;

beforeAll(async () => {
  await createS3Client(stackS3).send(new CreateBucketCommand({ Bucket: bucket }));
  gate = await startGate(
    gateEnv({
      REFRESH_STORE_URI: `s3://${bucket}/store`,
      S3_ENDPOINT: stackEnv.S3_ENDPOINT,
      S3_ACCESS_KEY_ID: 'test',
      S3_SECRET_ACCESS_KEY: 'test',
      // Nothing listens on the discard port: the cluster is down.
      RAY_ADDRESS: 'http://127.0.0.1:9',
      REFRESH_RETRY_POLL_MS: '100',
      CATALOG_REFRESH_MS: '200',
    }),
  );
}, 60_000);

afterAll(async () => {
  await gate?.stop();
  const keys: string[] = [];
  for await (const o of bucketStore.list()) keys.push(o.key);
  if (keys.length > 0) await bucketStore.delete(keys);
  await createS3Client(stackS3).send(new DeleteBucketCommand({ Bucket: bucket }));
});

/** The canonical rows as a JSON Lines source in the bucket, declared as a refresh job names it. */
async function putCanonicalSource(store: ObjectStore, name: string) {
  const body = sourceRows()
    .map((r) => JSON.stringify(r))
    .join('\n');
  await store.put('sources/canonical.jsonl', body);
  return {
    name: 'canonical',
    uri: `s3://${name}/sources/canonical.jsonl`,
    sha256: createHash('sha256').update(body).digest('hex'),
    schema_version: '1',
  };
}

/** The penguins dataset declared with these refresh jobs, as `tributary datasets apply` sends it. */
function penguinsDeclaration(refreshJobs: Record<string, unknown>[]) {
  return {
    source: 'datasets/penguins.yaml',
    spec: {
      apiVersion: 'tributary/v1',
      kind: 'Dataset',
      name: 'penguins',
      owners: ['eval-team'],
      contract: { name: 'penguins', versions: ['1.0.0'], current: '1.0.0' },
      refresh_jobs: refreshJobs,
    },
  };
}

describe('refresh jobs on engine ray', () => {
  it('when the Ray cluster cannot be reached, then the run is retried, ends failed naming the cluster and announces no candidate', async () => {
    const source = await putCanonicalSource(bucketStore, bucket);
    await applyDeclarations(
      gate.app.runtime,
      [
        penguinsDeclaration([
          {
            name: 'penguins-ray',
            schedule: null,
            sources: [source],
            engine: 'ray',
            retry_delays: ['200ms', '200ms'],
            baseline: { name: 'penguins_ray_baseline', seed: passingBaseline() },
          },
        ]),
      ],
      'test',
    );

    const { statusCode, run } = await gate.refresh('penguins');
    // Accepted, parked for its retry.
    expect(statusCode).toBe(202);
    expect(run).toMatchObject({ job: 'penguins-ray', status: 'retrying', attempt: 2 });
    expect(run.reason).toBe(
      'generate_candidate attempt 1 failed: Ray cluster at http://127.0.0.1:9 is unreachable: ECONNREFUSED',
    );

    const done = await waitFor(
      async () => {
        const r = await gate.run(run.datasetVersion);
        return r.status === 'failed' ? r : undefined;
      },
      { what: 'failed run', timeoutMs: 20_000 },
    );
    expect(done).toMatchObject({ attempt: 3, failedTask: 'generate_candidate', candidateUri: null });
    expect(done.reason).toBe(
      'generate_candidate failed after 3 attempts: Ray cluster at http://127.0.0.1:9 is unreachable: ECONNREFUSED',
    );
    const event = await waitFor(
      async () => (await gate.decodedEvaluated()).find((e) => e.dataset_version === run.datasetVersion),
      { what: 'quality.evaluated', timeoutMs: 20_000 },
    );
    expect(event).toMatchObject({
      dataset: 'penguins-ray',
      passed: false,
      status: 'TASK_FAILED',
      failed_task: 'generate_candidate',
      candidate_uri: '',
      failure_reason: done.reason,
    });
    // No candidate, report or job file was left under the run's prefix.
    const left: string[] = [];
    for await (const o of bucketStore.list(`store/candidates/penguins-ray/${run.datasetVersion}/`))
      left.push(o.key);
    expect(left).toEqual([]);
  }, 60_000);
});

describe('cancelling a refresh run on engine ray', () => {
  let live: RunningGate;
  const liveBucket = `tributary-qg-ray-cancel-${randomUUID()}`;
  const liveStore = createObjectStore(`s3://${liveBucket}`, stackS3);

  beforeAll(async () => {
    // The cluster is started on demand, like any stack component (a no-op when it runs).
    await promisify(execFile)(path.join(repoRoot, 'scripts/stack.sh'), ['up', 'ray'], { timeout: 600_000 });
    await createS3Client(stackS3).send(new CreateBucketCommand({ Bucket: liveBucket }));
    live = await startGate(
      gateEnv({
        REFRESH_STORE_URI: `s3://${liveBucket}/store`,
        S3_ENDPOINT: stackEnv.S3_ENDPOINT,
        S3_ACCESS_KEY_ID: 'test',
        S3_SECRET_ACCESS_KEY: 'test',
        RAY_ADDRESS,
        RAY_JOB_PYTHON: RAY_PYTHON,
        RAY_POLL_MS: '200',
        REFRESH_CANCEL_POLL_MS: '200',
        CATALOG_REFRESH_MS: '200',
        // The Ray job's log lines (info) say when it runs.
        LOG_LEVEL: 'info',
      }),
      { captureLogs: true },
    );
    const source = await putCanonicalSource(liveStore, liveBucket);
    const job = {
      schedule: null,
      retry_delays: [],
      baseline: { name: 'cancel_baseline', seed: passingBaseline() },
    };
    await applyDeclarations(
      live.app.runtime,
      [
        penguinsDeclaration([
          { ...job, name: 'penguins-ray-live', sources: [source], engine: 'ray' },
          // Fails at once (its source declares another schema version): the sentinel announcement.
          { ...job, name: 'penguins-sentinel', sources: [{ ...source, schema_version: '2' }] },
        ]),
      ],
      'test',
    );
  }, 660_000);

  afterAll(async () => {
    await live?.stop();
    const keys: string[] = [];
    for await (const o of liveStore.list()) keys.push(o.key);
    if (keys.length > 0) await liveStore.delete(keys);
    await createS3Client(stackS3).send(new DeleteBucketCommand({ Bucket: liveBucket }));
  });

  /** Starts a run of the Ray job and waits until its job runs on the cluster: its version and job id. */
  async function runningRayJob() {
    const before = live.logs.length;
    // The request runs the run (an injected request starts when awaited: then() starts it now).
    const answer = live.app.http
      .inject({ method: 'POST', url: '/admin/refresh', headers: AUTH, payload: { job: 'penguins-ray-live' } })
      .then((res) => res);
    const running = await waitFor(
      () =>
        Promise.resolve(
          live.logs
            .slice(before)
            .find((l) => typeof l.job_log === 'string' && l.job_log.startsWith('refresh job ')),
        ),
      { what: 'the Ray job running', timeoutMs: 60_000 },
    );
    const submitted = live.logs
      .slice(before)
      .map((l) =>
        typeof l.job_log === 'string' ? /^Ray job (\S+) submitted/.exec(l.job_log)?.[1] : undefined,
      )
      .find(Boolean);
    return { answer, version: running.dataset_version!, jobId: submitted! };
  }

  async function rayJobStopped(jobId: string) {
    await waitFor(
      async () => {
        const res = await fetch(`${RAY_ADDRESS}/api/jobs/${jobId}`);
        return ((await res.json()) as { status: string }).status === 'STOPPED' ? true : undefined;
      },
      { what: `Ray job ${jobId} stopped`, timeoutMs: 30_000 },
    );
  }

  /** Nothing announced for the run: a later run's quality.evaluated arrives, none for it. */
  async function nothingAnnounced(version: string) {
    const sentinel = await live.app.http.inject({
      method: 'POST',
      url: '/admin/refresh',
      headers: AUTH,
      payload: { job: 'penguins-sentinel' },
    });
    const sentinelVersion = sentinel.json<RefreshRun>().datasetVersion;
    await waitFor(
      async () => (await live.decodedEvaluated()).find((e) => e.dataset_version === sentinelVersion),
      { what: 'the sentinel quality.evaluated', timeoutMs: 20_000 },
    );
    expect((await live.decodedEvaluated()).filter((e) => e.dataset_version === version)).toEqual([]);
    const left: string[] = [];
    for await (const o of liveStore.list(`store/candidates/penguins-ray-live/${version}/`)) left.push(o.key);
    expect(left).toEqual([]);
  }

  it('when an operator cancels a run while its Ray job runs, then the job is stopped, the run ends cancelled with the reason and nothing is announced', async () => {
    const { answer, version, jobId } = await runningRayJob();
    const cancel = await live.app.http.inject({
      method: 'POST',
      url: `/admin/runs/${version}/cancel`,
      headers: { ...AUTH, 'x-tributary-actor': 'test-operator' },
      payload: { reason: 'wrong sources' },
    });
    expect(cancel.statusCode).toBe(200);
    expect(cancel.json()).toMatchObject({
      status: 'cancelled',
      reason: 'cancelled by test-operator: wrong sources',
    });

    // The manual run's request ends with the cancelled run.
    const answered = await answer;
    expect(answered.json<RefreshRun>()).toMatchObject({
      datasetVersion: version,
      status: 'cancelled',
      reason: 'cancelled by test-operator: wrong sources',
      candidateUri: null,
      reportUri: null,
    });
    await rayJobStopped(jobId);
    expect(
      live.logs.some((l) => l.msg === 'dataset refresh cancelled' && l.dataset_version === version),
    ).toBe(true);

    // A run that ended cannot be cancelled again; an unknown one is not found.
    const again = await live.app.http.inject({
      method: 'POST',
      url: `/admin/runs/${version}/cancel`,
      headers: AUTH,
    });
    expect(again.statusCode).toBe(409);
    expect(again.json<{ error: { message: string } }>().error.message).toContain(
      'has already ended (cancelled)',
    );
    const unknown = await live.app.http.inject({
      method: 'POST',
      url: '/admin/runs/nope/cancel',
      headers: AUTH,
    });
    expect(unknown.statusCode).toBe(404);

    await nothingAnnounced(version);
  }, 120_000);

  it('when the run is cancelled on another replica, then the replica executing it stops its Ray job', async () => {
    const { answer, version, jobId } = await runningRayJob();
    // Another replica's route writes the cancel to Postgres; this one reads it at its next poll.
    const pool = createPool({ url: stackEnv.DATABASE_URL, schema: live.env.DATABASE_SCHEMA! });
    try {
      const cancelled = await new RunsRepository(pool).cancel(version, 'cancelled by elsewhere');
      expect(cancelled).toMatchObject({ status: 'cancelled' });
    } finally {
      await pool.end();
    }
    expect((await answer).json<RefreshRun>()).toMatchObject({
      status: 'cancelled',
      reason: 'cancelled by elsewhere',
    });
    await rayJobStopped(jobId);
    await nothingAnnounced(version);
  }, 120_000);
});
