/**
 * The text checks (diversity, toxicity) measure the job's text column: a configured column the
 * candidate lacks fails the run naming it; a job declaring no text column (`text_column: null`,
 * `TEXT_COLUMN=none` for the implicit job) has no text checks at all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { refreshJobSchema } from '@tributary/catalog';
import { waitFor } from '@tributary/testing';
import type { MetricResult } from '../src/domain/ports.ts';
import { gateEnv, passingBaseline, sourceRows, startGate, workspace } from './harness.ts';

describe('quality-gate text column', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function setup(extra: Record<string, string>, rows: Record<string, unknown>[]) {
    const ws = await workspace();
    cleanup.push(() => ws.remove());
    const source = await ws.source('canonical', rows);
    const gate = await startGate(
      gateEnv({
        REFRESH_STORE_URI: ws.storeUri,
        REFRESH_SOURCES: JSON.stringify([source]),
        BASELINE_SEED: JSON.stringify(passingBaseline()),
        ...extra,
      }),
    );
    cleanup.push(() => gate.stop());
    return { ws, gate };
  }

  it('when the configured text column is absent from the candidate, then the run fails in quality_gate naming the column', async () => {
    const rows = sourceRows().map(({ text, ...rest }) => ({ ...rest, review: text }));
    const { gate } = await setup({ TEXT_COLUMN: 'text', GATE_MIN_DIVERSITY: '0' }, rows);

    const { statusCode, run } = await gate.refresh();
    expect(statusCode).toBe(422);
    expect(run).toMatchObject({ status: 'failed', failedTask: 'quality_gate', reportUri: null });
    expect(run.reason).toContain('text column "text" is absent from the candidate');
    expect(run.reason).toContain('review');

    await waitFor(() => (gate.evaluated.messages.length > 0 ? true : undefined), {
      what: 'quality.evaluated',
    });
    const [event] = await gate.decodedEvaluated();
    expect(event).toMatchObject({
      passed: false,
      status: 'TASK_FAILED',
      failed_task: 'quality_gate',
      metrics: [],
    });
    expect(event?.failure_reason).toContain('"text"');
  });

  it('when the configured text column holds no text in any row, then the run fails naming the column', async () => {
    const rows = sourceRows().map((r) => ({ ...r, text: null }));
    const { gate } = await setup({ GATE_MIN_DIVERSITY: '0' }, rows);
    const { statusCode, run } = await gate.refresh();
    expect(statusCode).toBe(422);
    expect(run).toMatchObject({ status: 'failed', failedTask: 'quality_gate' });
    expect(run.reason).toContain('text column "text" holds no text');
  });

  it('when the job declares no text column, then it passes with no diversity or toxicity metric', async () => {
    const rows = sourceRows().map(({ text: _text, ...rest }) => rest);
    const { ws, gate } = await setup({ TEXT_COLUMN: 'none' }, rows);
    const { statusCode, run } = await gate.refresh();
    expect(statusCode).toBe(200);
    expect(run.status).toBe('passed');
    const report = JSON.parse(await ws.readStore(run.reportUri!)) as {
      metrics: MetricResult[];
      job: { settings: { text_column: string | null } };
    };
    expect(report.metrics.map((m) => m.metric)).toEqual(['coverage', 'drift_psi:label', 'drift_ks:length']);
    expect(report.job.settings.text_column).toBeNull();
  });

  it('when a declaration says text_column: null, then the job has no text column (and the default stays text)', () => {
    expect(refreshJobSchema.parse({ name: 'j', text_column: null }).text_column).toBeNull();
    expect(refreshJobSchema.parse({ name: 'j' }).text_column).toBe('text');
  });
});
