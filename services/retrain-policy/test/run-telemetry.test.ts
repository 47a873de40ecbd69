/**
 * The data pipeline's run, where it ends (the retrain decision): every log line of the handling
 * carries dag_run_id, the seed task and the dataset version; dag_status / dag_duration_seconds of
 * dag="data_pipeline" count it (success when decided, failed when dead-lettered), exported at 0
 * from the start; the time from the batch.ready to retrain.requested is a histogram.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { masterVersioned } from '@tributary/events';
import { MlflowRest, testKafka, waitFor } from '@tributary/testing';
import {
  masterEvent,
  mlflowNames,
  seedProductionModel,
  startService,
  type RunningService,
} from './harness.ts';

const mlflow = new MlflowRest();
let service: RunningService | undefined;

afterEach(async () => {
  await service?.stop();
  service = undefined;
});

const status = (s: string) => new RegExp(`^dag_status\\{.*dag="data_pipeline".*status="${s}"`);

describe('retrain-policy data pipeline run telemetry', () => {
  it('when a master version is decided, then its log lines carry the run fields and the run counts success with its duration since batch.ready', async () => {
    const names = mlflowNames();
    await seedProductionModel(mlflow, names, { masterRows: 0, endTime: Date.now() - 60_000 });
    service = await startService(
      { MLFLOW_MODEL_NAME: names.model, RETRAIN_THRESHOLD_ROWS: '100' },
      { captureLogs: true },
    );
    // Exported at 0 before any run, so that increase() sees the first one.
    const metrics = (await service.app.http.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/dag_status\{[^}]*dag="data_pipeline"[^}]*status="success"[^}]*\} 0/);
    expect(metrics).toMatch(/dag_status\{[^}]*dag="data_pipeline"[^}]*status="failed"[^}]*\} 0/);

    const readyAt = Date.now() - 5_000;
    await service.publish({ ...masterEvent(names.dataset, 7, 344), ready_at: readyAt });
    await service.retrains.waitForMessages(1, 30_000);
    const [request] = await service.decodedRetrains();
    const runId = request!.run_id;

    await waitFor(async () => ((await service!.metric(status('success'))) === 1 ? true : undefined), {
      what: 'dag_status success',
    });
    expect(await service.metric(status('failed'))).toBe(0);
    expect(await service.metric(/^dag_duration_seconds_count\{.*dag="data_pipeline".*status="success"/)).toBe(
      1,
    );
    expect(await service.metric(/^dag_duration_seconds_sum\{.*dag="data_pipeline"/)).toBeGreaterThanOrEqual(
      5,
    );
    expect(await service.metric(/^pipeline_ready_to_retrain_requested_seconds_count/)).toBe(1);
    expect(await service.metric(/^pipeline_ready_to_retrain_requested_seconds_sum/)).toBeGreaterThanOrEqual(
      5,
    );

    const lines = service.logs.filter((l) => l.dag_run_id === runId);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line, JSON.stringify(line)).toMatchObject({
        task_id: 'retrain_decision',
        dataset_version: `${names.dataset}@7`,
      });
    }
    // (The tests log at warn: the line of the implicit policy is one of this run's.)
    expect(lines.map((l) => l.msg).join('\n')).toContain('decided by the implicit MLFLOW_MODEL_NAME policy');
  });

  it('when a message is dead-lettered, then the run counts failed', async () => {
    const names = mlflowNames();
    service = await startService({ MLFLOW_MODEL_NAME: names.model });
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({
      topic: `${service.prefix}${masterVersioned.topic}`,
      messages: [{ key: names.dataset, value: Buffer.from('not avro') }],
    });
    await producer.disconnect();
    await service.deadLetters.waitForMessages(1, 30_000);
    await waitFor(async () => ((await service!.metric(status('failed'))) === 1 ? true : undefined), {
      what: 'dag_status failed',
    });
    expect(await service.metric(status('success'))).toBe(0);
  });
});
