/**
 * A refresh job declaring `engine: ray`, run by the service: when the cluster cannot be reached the
 * run follows the job's retry policy, then ends failed naming the cluster, announced as any failed
 * run (quality.evaluated TASK_FAILED, which the notifier pages), with nothing left to publish.
 */
import { createHash, randomUUID } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore, createS3Client } from '@tributary/storage';
import { applyDeclarations, stackEnv, stackS3, waitFor } from '@tributary/testing';
import { gateEnv, passingBaseline, sourceRows, startGate, type RunningGate } from './harness.ts';

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

describe('refresh jobs on engine ray', () => {
  it('when the Ray cluster cannot be reached, then the run is retried, ends failed naming the cluster and announces no candidate', async () => {
    const body = sourceRows()
      .map((r) => JSON.stringify(r))
      .join('\n');
    await bucketStore.put('sources/canonical.jsonl', body);
    const source = {
      name: 'canonical',
      uri: `s3://${bucket}/sources/canonical.jsonl`,
      sha256: createHash('sha256').update(body).digest('hex'),
      schema_version: '1',
    };
    await applyDeclarations(
      gate.app.runtime,
      [
        {
          source: 'datasets/penguins.yaml',
          spec: {
            apiVersion: 'tributary/v1',
            kind: 'Dataset',
            name: 'penguins',
            owners: ['eval-team'],
            contract: { name: 'penguins', versions: ['1.0.0'], current: '1.0.0' },
            refresh_jobs: [
              {
                name: 'penguins-ray',
                schedule: null,
                sources: [source],
                engine: 'ray',
                retry_delays: ['200ms', '200ms'],
                baseline: { name: 'penguins_ray_baseline', seed: passingBaseline() },
              },
            ],
          },
        },
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
