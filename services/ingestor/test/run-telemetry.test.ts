/**
 * The data pipeline's run in the ingestor: the log lines of an ingest carry dag_run_id, task_id
 * `ingest` and the batch id as dataset_version; batch.ingested carries the batch.ready's time on
 * (`ready_at`); a batch rejected at ingest ends its run here, counted in
 * dag_status{dag="data_pipeline",status="rejected"}, exported at 0 from the start.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchReadyFor, waitFor, writeSampleBatch } from '@tributary/testing';
import { startHarness, type Harness } from './helpers.ts';

let h: Harness;
const sources = () => path.join(h.root, 'sources');

beforeAll(async () => {
  h = await startHarness('run-telemetry', { LOG_LEVEL: 'info' }, { captureLogs: true });
});
afterAll(async () => {
  await h?.close();
});

async function metric(line: RegExp): Promise<number | undefined> {
  const res = await h.app.http.inject({ method: 'GET', url: '/metrics' });
  const found = res.body.split('\n').find((l) => line.test(l));
  return found === undefined ? undefined : Number(found.split(' ').at(-1));
}

const dagStatus = (status: string) => new RegExp(`^dag_status\\{.*dag="data_pipeline".*status="${status}"`);

describe('ingestor data pipeline run telemetry', () => {
  it('when a batch is ingested, then its log lines carry the run fields and batch.ingested carries the batch.ready time', async () => {
    expect(await metric(dagStatus('rejected'))).toBe(0);
    expect(await metric(dagStatus('failed'))).toBe(0);
    const sample = await writeSampleBatch(path.join(sources(), 'b-1'), { count: 5 });
    const ready = batchReadyFor(sample, { batchId: 'telemetry-b-1' });
    await h.publish(ready);
    const event = await h.ingested.waitFor((e) => e.batch_id === 'telemetry-b-1');
    expect(event.ready_at).toBe(ready.occurred_at);

    const lines = await waitFor(
      () => {
        const mine = h.logs().filter((l) => l.dag_run_id === event.run_id);
        return mine.length > 0 ? mine : undefined;
      },
      { what: 'log lines of the ingest' },
    );
    for (const line of lines) {
      expect(line, JSON.stringify(line)).toMatchObject({
        task_id: 'ingest',
        dataset_version: 'telemetry-b-1',
      });
    }
    expect(await metric(dagStatus('rejected'))).toBe(0);
  });

  it('when a batch is rejected at ingest, then its run counts rejected with a duration', async () => {
    const sample = await writeSampleBatch(path.join(sources(), 'walrus-1'), { offset: 260, count: 3 });
    await h.publish(batchReadyFor(sample, { batchId: 'telemetry-walruses-1', dataset: 'walruses' }));
    await h.rejected.waitFor((e) => e.batch_id === 'telemetry-walruses-1');
    await waitFor(async () => ((await metric(dagStatus('rejected'))) === 1 ? true : undefined), {
      what: 'dag_status rejected',
    });
    expect(await metric(/^dag_duration_seconds_count\{.*dag="data_pipeline".*status="rejected"/)).toBe(1);
  });
});
