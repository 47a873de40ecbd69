/**
 * The wire format proven with a client we did not write: examples/python-producer (confluent-kafka
 * and its AvroSerializer through the registry's Confluent-compatible API) announces a batch on the
 * test's batch.ready topic, and the ingestor ingests it as the same run.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackEnv, writeSampleBatch } from '@tributary/testing';
import { startHarness, type Harness } from './helpers.ts';

const PRODUCER = fileURLToPath(
  new URL('../../../examples/python-producer/produce_batch.py', import.meta.url),
);
const PYTHON = path.join(stackEnv.TRIBUTARY_VENV, 'bin', 'python');

let h: Harness;
beforeAll(async () => {
  h = await startHarness('python-producer');
});
afterAll(async () => {
  await h?.close();
});

function runPython(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      PYTHON,
      [PRODUCER, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, timeout: 90_000 },
      (err, stdout, stderr) =>
        resolve({
          code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1,
          stdout,
          // A run killed at the timeout has no exit code and often no output: say so.
          stderr: err?.killed === true ? `killed (${String(err.signal)}) after 90 s\n${stderr}` : stderr,
        }),
    );
  });
}

describe('a Python producer (confluent-kafka + AvroSerializer)', () => {
  it('when the example announces a folder on batch.ready with its headers, then the ingestor decodes it and ingests the batch as the producer’s run', async () => {
    const dir = path.join(h.root, 'sources', 'python-batch');
    const sample = await writeSampleBatch(dir, { offset: 240, count: 5, images: 1 });
    const run = await runPython([
      dir,
      '--dataset',
      'penguins',
      '--contract',
      'penguins@1.0.0',
      '--producer',
      'field-team-python',
      '--bootstrap',
      stackEnv.KAFKA_BROKERS,
      '--registry',
      stackEnv.SCHEMA_REGISTRY_URL,
      '--topic-prefix',
      h.prefix,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as {
      batch_id: string;
      event_id: string;
      run_id: string;
      topic: string;
    };
    expect(out.topic).toBe(`${h.prefix}batch.ready`);
    expect(out.batch_id).toMatch(/^penguins-[0-9a-f]{16}$/);

    // The message as the services see it: keyed by dataset, with the headers the runtime reads.
    const announced = await h.ready.waitFor((e) => e.batch_id === out.batch_id);
    expect(announced).toMatchObject({
      event_id: out.event_id,
      source: 'KAFKA',
      producer: 'field-team-python',
    });
    const raw = h.ready.raw.find((m) => m.headers['event-id'] === out.event_id);
    expect(raw?.key).toBe('penguins');
    expect(raw?.headers.traceparent).toMatch(new RegExp(`^00-${out.run_id}-[0-9a-f]{16}-01$`));
    expect(raw?.headers['event-name']).toBe('batch.ready');

    const ingested = await h.ingested.waitFor((e) => e.batch_id === out.batch_id);
    expect(ingested.run_id).toBe(out.run_id);
    expect(ingested.producer).toBe('field-team-python');
    const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : 1);
    expect(
      ingested.files.map((f) => ({ path: f.path, role: f.role, sha256: f.sha256 })).sort(byPath),
    ).toEqual(sample.files.map((f) => ({ path: f.path, role: f.role, sha256: f.sha256 })).sort(byPath));
  });
});
