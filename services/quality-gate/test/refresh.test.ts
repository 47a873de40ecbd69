import { rename, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { newEventId } from '@tributary/events';
import { masterVersionedFixture } from '@tributary/events/fixtures';
import { waitFor } from '@tributary/testing';
import { masterVersioned, qualityEvaluated } from '@tributary/events';
import type { MetricResult, RefreshRun } from '../src/domain/ports.ts';
import {
  AUTH,
  canonicalGate,
  gateEnv,
  gateProducer,
  passingBaseline,
  registry,
  sourceRows,
  startGate,
  storedRuns,
  workspace,
  type Workspace,
} from './harness.ts';

interface Report {
  dataset_version: string;
  run_id: string;
  source_hash: string;
  seed: number;
  passed: boolean;
  coverage_gaps: string[];
  candidate_rows: number;
  metrics: MetricResult[];
}

describe('quality-gate dataset refresh', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function setup(extra: Record<string, string> = {}, rows = sourceRows()) {
    const ws: Workspace = await workspace();
    cleanup.push(() => ws.remove());
    const source = await ws.source('canonical', rows);
    const env = gateEnv({
      REFRESH_STORE_URI: ws.storeUri,
      REFRESH_SOURCES: JSON.stringify([source]),
      BASELINE_SEED: JSON.stringify(passingBaseline()),
      ...extra,
    });
    const gate = await startGate(env);
    cleanup.push(() => gate.stop());
    return { ws, gate, source };
  }

  it('when the quality-gate starts, then its dag_status series of dataset_refresh is exported at 0 before any run', async () => {
    const { gate } = await setup();
    // Scraped as Prometheus does: a series first appearing at 1 has no increase(), so the
    // TributaryQualityGateFailed alert would miss the first failed run after each start.
    const res = await gate.app.http.inject({ method: 'GET', url: '/metrics' });
    const series = res.body.split('\n').filter((l) => l.startsWith('dag_status{'));
    expect(series).toEqual(['dag_status{dag="dataset_refresh",status="failed",service="quality-gate"} 0']);
  });

  it('when a refresh or a cancel is posted without a body, then the default job runs and an unknown run is not found', async () => {
    const { gate } = await setup();
    // As `curl -X POST` sends them: no body, no content type.
    const run = await gate.app.http.inject({ method: 'POST', url: '/admin/refresh', headers: AUTH });
    expect(run.statusCode, run.body).toBe(200);
    expect(run.json<RefreshRun>()).toMatchObject({ job: 'eval', status: 'passed' });
    const cancel = await gate.app.http.inject({
      method: 'POST',
      url: '/admin/runs/nope/cancel',
      headers: AUTH,
    });
    expect(cancel.statusCode, cancel.body).toBe(404);
    expect(cancel.json<{ error: { code: string } }>().error.code).toBe('QG_ERR_NOT_FOUND');
  });

  it('when the candidate meets every threshold, then the report passes and quality.evaluated says so', async () => {
    const { ws, gate } = await setup();
    const { statusCode, run } = await gate.refresh();
    expect(statusCode).toBe(200);
    expect(run).toMatchObject({ status: 'passed', trigger: 'MANUAL', failedTask: null });
    // The run id is the trace id of the run, stored with the run and written in its report.
    expect(run.runId).toMatch(/^[0-9a-f]{32}$/);
    expect((await gate.runs()).map((r) => r.runId)).toEqual([run.runId]);

    const report = JSON.parse(await ws.readStore(run.reportUri!)) as Report;
    expect(report).toMatchObject({
      dataset_version: run.datasetVersion,
      run_id: run.runId,
      passed: true,
      seed: 42,
      coverage_gaps: [],
    });
    expect(report.metrics.map((m) => m.metric)).toEqual([
      'coverage',
      'diversity',
      'toxicity',
      'drift_psi:label',
      'drift_ks:length',
    ]);
    for (const m of report.metrics) {
      expect(Object.keys(m).sort()).toEqual(['baseline', 'delta', 'metric', 'pass', 'threshold', 'value']);
      expect(m.pass).toBe(true);
    }
    const candidate = (await ws.readStore(run.candidateUri!)).trim().split('\n');
    expect(candidate).toHaveLength(report.candidate_rows);
    expect(candidate.length).toBe(30);

    await waitFor(() => (gate.evaluated.messages.length > 0 ? true : undefined), {
      what: 'quality.evaluated',
    });
    const [event] = await gate.decodedEvaluated();
    expect(event).toMatchObject({
      dataset: 'eval',
      dataset_version: run.datasetVersion,
      source_hash: report.source_hash,
      passed: true,
      trigger: 'MANUAL',
      report_uri: run.reportUri,
      candidate_rows: 30,
      baseline_name: 'baseline_eval_v1',
      run_id: run.runId,
    });
    // A passed run ends in the publisher, which counts it in dag_status; the gate only times its part.
    expect(await gate.metric(/^dag_status\{.*dag="dataset_refresh"/)).toBe(0);
    expect(await gate.metric(/^dag_duration_seconds_count\{.*dag="dataset_refresh".*status="success"/)).toBe(
      1,
    );
  });

  it('when the same sources and seed are refreshed twice, then the candidates are byte-identical', async () => {
    const { ws, gate } = await setup();
    const first = (await gate.refresh()).run;
    const second = (await gate.refresh()).run;
    expect(first.datasetVersion).not.toBe(second.datasetVersion);
    expect(await ws.readStore(second.candidateUri!)).toBe(await ws.readStore(first.candidateUri!));
  });

  it('when a baseline slice is missing and a text is toxic, then the run fails with both in the report', async () => {
    const rows = sourceRows().map((r, i) => (i === 0 ? { ...r, text: 'you are a fucking idiot' } : r));
    const { ws, gate } = await setup(
      { GATE_MAX_TOXICITY: '0', SAMPLE_FRACTION: '1', AUGMENT_TEXT_DROPOUT: '0' },
      rows,
    );
    expect(
      await gate.putBaseline('baseline_eval_v1', {
        ...passingBaseline(),
        required_slices: ['a', 'b', 'c', 'd'],
      }),
    ).toBe(200);

    const { statusCode, run } = await gate.refresh();
    expect(statusCode).toBe(422);
    expect(run).toMatchObject({ status: 'failed', failedTask: 'quality_gate' });
    expect(run.reason).toContain('coverage');
    expect(run.reason).toContain('toxicity');

    const report = JSON.parse(await ws.readStore(run.reportUri!)) as Report;
    expect(report.passed).toBe(false);
    expect(report.coverage_gaps).toEqual(['d']);
    const coverage = report.metrics.find((m) => m.metric === 'coverage')!;
    expect(coverage).toMatchObject({ baseline: 1, value: 0.75, delta: -0.25, threshold: 1, pass: false });
    const toxicity = report.metrics.find((m) => m.metric === 'toxicity')!;
    expect(toxicity).toMatchObject({ threshold: 0, pass: false });
    expect(toxicity.value).toBeCloseTo(1 / 60);

    await waitFor(() => (gate.evaluated.messages.length > 0 ? true : undefined), {
      what: 'quality.evaluated',
    });
    const [event] = await gate.decodedEvaluated();
    expect(event).toMatchObject({
      passed: false,
      status: 'EVALUATED',
      failed_task: 'quality_gate',
      coverage_gaps: ['d'],
      dataset_version: run.datasetVersion,
    });
    expect(await gate.metric(/^dag_status\{.*dag="dataset_refresh".*status="failed"/)).toBe(1);
  });

  it('when a source checksum does not match, then the run fails in ingest_sources and quality.evaluated carries the failure', async () => {
    const ws = await workspace();
    cleanup.push(() => ws.remove());
    const source = await ws.source('canonical', sourceRows());
    const gate = await startGate(
      gateEnv({
        REFRESH_STORE_URI: ws.storeUri,
        REFRESH_SOURCES: JSON.stringify([{ ...source, sha256: '0'.repeat(64) }]),
        BASELINE_SEED: JSON.stringify(passingBaseline()),
      }),
    );
    cleanup.push(() => gate.stop());
    const { statusCode, run } = await gate.refresh();
    expect(statusCode).toBe(422);
    expect(run).toMatchObject({ status: 'failed', failedTask: 'ingest_sources', reportUri: null });
    expect(run.reason).toContain('source canonical: checksum mismatch');
    expect(run.reason).toContain(source.sha256);

    await waitFor(() => (gate.evaluated.messages.length > 0 ? true : undefined), {
      what: 'quality.evaluated',
    });
    const [event] = await gate.decodedEvaluated();
    expect(event).toMatchObject({
      dataset_version: run.datasetVersion,
      passed: false,
      status: 'TASK_FAILED',
      failed_task: 'ingest_sources',
      failure_reason: run.reason,
      run_id: run.runId,
      report_uri: '',
      candidate_uri: '',
      candidate_rows: 0,
      metrics: [],
    });
  });

  it('when a source declares another schema version, then the run fails naming it', async () => {
    const { gate } = await setup({ REFRESH_SCHEMA_VERSION: '2' });
    const { run } = await gate.refresh();
    expect(run).toMatchObject({ status: 'failed', failedTask: 'ingest_sources' });
    expect(run.reason).toContain('schema version mismatch (declared 1, expected 2)');
  });

  it('when two replicas run the schedule, then each scheduled time runs once', async () => {
    const { env: settings } = await canonicalGate(cleanup);
    const env = settings({
      REFRESH_SCHEDULE_ENABLED: 'true',
      REFRESH_CRON: '*/2 * * * * *',
    });
    const first = await startGate(env);
    const second = await startGate(env);
    await waitFor(
      async () => ((await first.runs()).filter((r) => r.status !== 'running').length >= 2 ? true : undefined),
      { what: 'two scheduled runs', timeoutMs: 30_000 },
    );
    await second.stop(false);
    await first.stop(false);
    const runs = await storedRuns(env.DATABASE_SCHEMA!, true);
    const scheduled = runs.map((r) => r.scheduledFor);
    expect(runs.every((r) => r.trigger === 'SCHEDULE' && r.status === 'passed')).toBe(true);
    expect(new Set(scheduled).size).toBe(scheduled.length);
    // Each replica times the runs it did: together, one per scheduled time (dag_status is the publisher's).
    const success = /^dag_duration_seconds_count\{.*dag="dataset_refresh".*status="success"/;
    const fired = (await first.metric(success)) + (await second.metric(success));
    expect(fired).toBe(runs.length);
    expect(fired).toBeGreaterThanOrEqual(2);
    expect((await first.metric(/^dag_status\{/)) + (await second.metric(/^dag_status\{/))).toBe(0);
  });

  it('when master.versioned arrives for the dataset and the trigger is on, then a refresh runs for it', async () => {
    const { gate } = await setup({ REFRESH_ON_MASTER_VERSIONED: 'true' });
    const producer = await gateProducer(gate, cleanup);
    await producer.publish(masterVersioned, {
      ...masterVersionedFixture,
      event_id: newEventId(),
      dataset: 'other',
      master_version: 3,
    });
    await producer.publish(masterVersioned, {
      ...masterVersionedFixture,
      event_id: newEventId(),
      dataset: 'eval',
      master_version: 7,
    });
    const run = await waitFor(async () => (await gate.runs()).find((r) => r.status !== 'running'), {
      what: 'refresh after master.versioned',
      timeoutMs: 30_000,
    });
    expect(run).toMatchObject({ trigger: 'MASTER_VERSIONED', masterVersion: 7, status: 'passed' });
    expect(await gate.runs()).toHaveLength(1);
  });

  it('when the same master.versioned is delivered twice, then one run is recorded and quality.evaluated is emitted once', async () => {
    const { gate } = await setup({ REFRESH_ON_MASTER_VERSIONED: 'true' });
    const producer = await gateProducer(gate, cleanup);
    // A redelivery after a lost commit: the same master version, in a message with another event id.
    const versioned = (masterVersion: number) =>
      producer.publish(masterVersioned, {
        ...masterVersionedFixture,
        event_id: newEventId(),
        dataset: 'eval',
        master_version: masterVersion,
      });
    await versioned(7);
    await versioned(7);
    // Keyed by dataset, so handled after both: once its run ended, the redelivery was handled too.
    await versioned(8);
    await waitFor(
      async () =>
        (await gate.runs()).some((r) => r.masterVersion === 8 && r.status !== 'running') || undefined,
      { what: 'refresh of master version 8', timeoutMs: 30_000 },
    );
    await gate.evaluated.waitForMessages(2);
    // A second run or event of version 7 would now be visible.
    await gate.settled();
    const runs = await gate.runs();
    const versions = (list: (number | null)[]) => list.sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(versions(runs.map((r) => r.masterVersion))).toEqual([7, 8]);
    const events = await gate.decodedEvaluated();
    expect(versions(events.map((e) => e.master_version))).toEqual([7, 8]);
    const seven = runs.find((r) => r.masterVersion === 7)!;
    expect(events.find((e) => e.master_version === 7)).toMatchObject({
      dataset_version: seven.datasetVersion,
      run_id: seven.runId,
      trigger: 'MASTER_VERSIONED',
    });
  });

  /** A gate whose canonical source is missing until `arrive()` puts it back: its first run is parked. */
  async function gateWithLateSource(extra: Record<string, string>, opts: { captureLogs?: boolean } = {}) {
    const { source, env } = await canonicalGate(cleanup);
    const file = fileURLToPath(source.uri);
    await rename(file, `${file}.later`);
    const gate = await startGate(env({ REFRESH_RETRY_POLL_MS: '100', ...extra }), opts);
    cleanup.push(() => gate.stop());
    return { gate, arrive: () => rename(`${file}.later`, file) };
  }

  it('when a source is missing at first, then the run is parked, retried by the poller and completes', async () => {
    const { gate, arrive } = await gateWithLateSource({ REFRESH_RETRY_DELAYS_MS: '500,500' });
    const { statusCode, run } = await gate.refresh();
    expect(statusCode).toBe(202);
    expect(run).toMatchObject({ status: 'retrying', attempt: 2, failedTask: 'ingest_sources' });
    expect(run.reason).toContain('ingest_sources attempt 1 failed');
    await arrive();
    const done = await waitFor(
      async () => {
        const r = await gate.run(run.datasetVersion);
        return r.status === 'passed' || r.status === 'failed' ? r : undefined;
      },
      { what: 'retried run', timeoutMs: 20_000 },
    );
    expect(done).toMatchObject({ status: 'passed', attempt: 2, failedTask: null, reason: null });
    // The retry keeps the run id of the first attempt, and its event carries it.
    expect(done.runId).toMatch(/^[0-9a-f]{32}$/);
    expect(done.runId).toBe(run.runId);
    await waitFor(() => (gate.evaluated.messages.length > 0 ? true : undefined), {
      what: 'quality.evaluated',
    });
    const [event] = await gate.decodedEvaluated();
    expect(event).toMatchObject({ dataset_version: run.datasetVersion, run_id: run.runId, passed: true });
  });

  it('when a parked run is resumed by the poller, then its quality.evaluated and the log lines of the retry stay in the run trace', async () => {
    const { gate, arrive } = await gateWithLateSource(
      // The tasks log at info level.
      { REFRESH_RETRY_DELAYS_MS: '500', LOG_LEVEL: 'info' },
      { captureLogs: true },
    );
    const { run } = await gate.refresh();
    expect(run).toMatchObject({ status: 'retrying', attempt: 2 });
    // The run stores the context of its span, in the trace whose id is its run id.
    expect(run.traceparent?.split('-')[1]).toBe(run.runId);
    await arrive();
    await waitFor(async () => ((await gate.run(run.datasetVersion)).status === 'passed' ? true : undefined), {
      what: 'retried run',
      timeoutMs: 20_000,
    });

    const [message] = await gate.evaluated.waitForMessages(1);
    const event = await registry.decode(qualityEvaluated, message!.value!);
    expect(event).toMatchObject({ dataset_version: run.datasetVersion, run_id: run.runId, passed: true });
    expect(message!.headers.traceparent?.split('-')[1]).toBe(event.run_id);

    const parked = gate.logs.findIndex((l) => l.msg === 'dataset refresh task will be retried');
    expect(parked).toBeGreaterThanOrEqual(0);
    const retry = gate.logs.slice(parked + 1).filter((l) => l.dataset_version === run.datasetVersion);
    expect(retry.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['task started', 'dataset refresh finished', 'retry done']),
    );
    expect(retry.filter((l) => l.msg === 'task started').map((l) => l.task_id)).toEqual([
      'ingest_sources',
      'generate_candidate',
      'quality_gate',
    ]);
    for (const line of retry) expect(line).toMatchObject({ dag_run_id: run.runId });
  });

  it('when a task keeps failing, then the run ends failed after two retries and quality.evaluated carries the reason', async () => {
    const ws = await workspace();
    cleanup.push(() => ws.remove());
    const source = await ws.source('canonical', sourceRows());
    await rm(fileURLToPath(source.uri));
    const gate = await startGate(
      gateEnv({
        REFRESH_STORE_URI: ws.storeUri,
        REFRESH_SOURCES: JSON.stringify([source]),
        BASELINE_SEED: JSON.stringify(passingBaseline()),
        REFRESH_RETRY_DELAYS_MS: '200,400',
        REFRESH_RETRY_POLL_MS: '100',
      }),
    );
    cleanup.push(() => gate.stop());
    const { run } = await gate.refresh();
    const done = await waitFor(
      async () => {
        const r = await gate.run(run.datasetVersion);
        return r.status === 'failed' ? r : undefined;
      },
      { what: 'failed run', timeoutMs: 20_000 },
    );
    expect(done).toMatchObject({ status: 'failed', attempt: 3, failedTask: 'ingest_sources' });
    expect(done.reason).toContain('ingest_sources failed after 3 attempts');
    expect(done.reason).toContain('does not exist');
    // Counted when the attempt returns, just after its row was ended.
    await waitFor(
      async () => ((await gate.metric(/^dag_status\{.*status="failed"/)) === 1 ? true : undefined),
      {
        what: 'dag_status failed',
      },
    );

    // Only the final failure is announced: the parked attempts emit nothing.
    await waitFor(() => (gate.evaluated.messages.length > 0 ? true : undefined), {
      what: 'quality.evaluated',
    });
    await gate.settled();
    const events = await gate.decodedEvaluated();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      dataset_version: run.datasetVersion,
      passed: false,
      status: 'TASK_FAILED',
      failed_task: 'ingest_sources',
      failure_reason: done.reason,
      run_id: done.runId,
    });
    expect(done.runId).toBe(run.runId);
  });
});
