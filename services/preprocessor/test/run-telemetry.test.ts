/**
 * The data pipeline's run in the preprocessor: the log lines of a batch carry dag_run_id, the seed
 * task (validate, merge) and the dataset version (the batch id, then `<dataset>@<version>`);
 * master.versioned carries the batch.ready's time on, the time to the commit is a histogram, and a
 * run rejected here counts in dag_status{dag="data_pipeline",status="rejected"} (exported at 0).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PENGUIN_COUNT, penguinRows, waitFor, type RunningProcess } from '@tributary/testing';
import {
  csvBytes,
  startPreprocessor,
  testEnvironment,
  writeRawBatch,
  type TestEnvironment,
} from './helpers.ts';

let t: TestEnvironment;
let proc: RunningProcess & { port: number };

beforeAll(async () => {
  t = await testEnvironment({ LOG_LEVEL: 'info' });
  proc = await startPreprocessor(t.env);
}, 180_000);

afterAll(async () => {
  proc?.child.kill('SIGTERM');
  await proc?.exited;
  await t?.dispose();
});

async function metric(line: RegExp): Promise<number | undefined> {
  const body = await (await fetch(`http://127.0.0.1:${proc.port}/metrics`)).text();
  const found = body.split('\n').find((l) => line.test(l));
  return found === undefined ? undefined : Number(found.split(' ').at(-1));
}

const logLines = () =>
  proc
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const dagStatus = (status: string) => new RegExp(`^dag_status\\{.*dag="data_pipeline".*status="${status}"`);

describe('preprocessor data pipeline run telemetry', () => {
  it('when a batch is merged, then its log lines carry the run fields and the time since batch.ready is recorded', async () => {
    expect(await metric(dagStatus('rejected'))).toBe(0);
    expect(await metric(dagStatus('failed'))).toBe(0);
    const versions = await t.readVersions();
    const rows = await penguinRows({ count: PENGUIN_COUNT });
    const event = await writeRawBatch(t.storeDir, 'penguins', 'telemetry-b1', [
      { path: 'rows.csv', role: 'TABLE', bytes: csvBytes(rows.slice(0, 20)) },
    ]);
    const readyAt = Date.now() - 5_000;
    await t.publish({ ...event, ready_at: readyAt });
    const [v1] = await versions.waitForCount(1);
    expect(v1!.ready_at).toBe(readyAt);

    await waitFor(
      async () =>
        (await metric(/^pipeline_ready_to_master_versioned_seconds_count/)) === 1 ? true : undefined,
      { what: 'ready → versioned histogram' },
    );
    expect(await metric(/^pipeline_ready_to_master_versioned_seconds_sum/)).toBeGreaterThanOrEqual(5);

    const lines = await waitFor(
      () => {
        const mine = logLines().filter((l) => l.dag_run_id === v1!.run_id);
        return mine.some((l) => l.msg === 'batch processed') ? mine : undefined;
      },
      { what: 'the batch processed line' },
    );
    for (const line of lines) {
      expect(line, JSON.stringify(line)).toHaveProperty('task_id');
      expect(['validate', 'merge']).toContain(line.task_id);
      expect(['telemetry-b1', 'penguins@1']).toContain(line.dataset_version);
    }
    expect(lines.find((l) => l.msg === 'batch processed')).toMatchObject({
      task_id: 'merge',
      dataset_version: 'penguins@1',
    });
  }, 120_000);

  it('when a batch is rejected, then its run counts rejected', async () => {
    const rejections = await t.readRejections();
    const rows = await penguinRows({ count: PENGUIN_COUNT });
    const event = await writeRawBatch(
      t.storeDir,
      'penguins',
      'telemetry-b2',
      [{ path: 'rows.csv', role: 'TABLE', bytes: csvBytes(rows.slice(20, 30)) }],
      { name: 'penguins', version: '9.9.9' },
    );
    await t.publish({ ...event, ready_at: Date.now() - 1_000 });
    await rejections.waitForCount(1);
    await waitFor(async () => ((await metric(dagStatus('rejected'))) === 1 ? true : undefined), {
      what: 'dag_status rejected',
    });
    expect(await metric(/^dag_duration_seconds_count\{.*dag="data_pipeline".*status="rejected"/)).toBe(1);
  }, 120_000);
});
