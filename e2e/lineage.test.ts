/**
 * `tributary lineage` against running services: a batch goes through the ingestor, the preprocessor
 * and the retrain policy (each a separate process, as deployed), then the CLI stitches the chain
 * batch → raw snapshot → master version → retrain request from their APIs, under one trace id.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSampleBatch } from '@tributary/testing';
import { startPipeline, type Pipeline } from './support/pipeline.ts';

let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await startPipeline('lineage');
}, 300_000);

afterAll(async () => {
  await pipeline?.stop();
});

/** Runs the CLI; resolves with its exit code and stdout. */
async function tributary(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = spawn(
    process.execPath,
    [fileURLToPath(new URL('../cli/bin/tributary.js', import.meta.url)), ...args],
    {
      env: { ...process.env, TRIBUTARY_ADMIN_TOKEN: pipeline.adminToken },
    },
  );
  let stdout = '';
  let stderr = '';
  cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => cli.once('exit', resolve));
  return { code, stdout, stderr };
}

interface Link {
  kind: string;
  state: string;
  id: string | null;
  location: string | null;
  checksum: string | null;
  runId: string | null;
}

describe('tributary lineage', () => {
  it('when a batch went through to a retrain request, then lineage --batch returns the chain with one trace id', async () => {
    const batch = await writeSampleBatch(join(pipeline.work, 'batch-1'), { count: 12, images: 2 });
    const request = await pipeline.submitAndAwaitRetrain(batch, 'lineage-batch-1');

    const url = (service: 'ingestor' | 'preprocessor' | 'retrain-policy') => pipeline.url(service);
    // The decision row is written with the request; the quality-gate and publisher are not running here.
    const result = await tributary([
      'lineage',
      '--batch',
      'lineage-batch-1',
      '--json',
      '--ingestor-url',
      url('ingestor'),
      '--preprocessor-url',
      url('preprocessor'),
      '--retrain-policy-url',
      url('retrain-policy'),
      '--quality-gate-url',
      'http://127.0.0.1:9',
      '--publisher-url',
      'http://127.0.0.1:9',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const lineage = JSON.parse(result.stdout) as { dataset: string; traceIds: string[]; links: Link[] };
    expect(lineage.dataset).toBe('penguins');
    expect(lineage.traceIds).toEqual([request.run_id]);
    const byKind = new Map(lineage.links.map((l) => [l.kind, l]));
    expect(byKind.get('batch')).toMatchObject({
      state: 'found',
      id: 'lineage-batch-1',
      runId: request.run_id,
    });
    expect(byKind.get('raw snapshot')).toMatchObject({ state: 'found' });
    expect(byKind.get('raw snapshot')?.location).toBeTruthy();
    expect(byKind.get('raw snapshot')?.checksum).toBeTruthy();
    expect(byKind.get('master version')).toMatchObject({
      state: 'found',
      id: 'penguins@1',
      location: request.master_location,
      checksum: request.master_checksum,
    });
    expect(byKind.get('retrain request')).toMatchObject({ state: 'found', runId: request.run_id });
    // Services that are not reachable make their links unavailable, not the command fail.
    expect(byKind.get('quality report')?.state).toBe('unavailable');
    expect(byKind.get('published manifest')?.state).toBe('unavailable');

    // The same chain from the master version, as text.
    const text = await tributary([
      'lineage',
      '--master-version',
      '1',
      '--dataset',
      'penguins',
      '--ingestor-url',
      url('ingestor'),
      '--preprocessor-url',
      url('preprocessor'),
      '--retrain-policy-url',
      url('retrain-policy'),
      '--quality-gate-url',
      'http://127.0.0.1:9',
      '--publisher-url',
      'http://127.0.0.1:9',
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`trace id: ${request.run_id}`);
    expect(text.stdout).toContain('→ batch: lineage-batch-1');
    expect(text.stdout).toContain('→ master version: penguins@1');
  }, 300_000);
});
