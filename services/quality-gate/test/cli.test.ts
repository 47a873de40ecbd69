import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { serviceEnv } from '@tributary/testing';
import type { RefreshRun } from '../src/domain/ports.ts';
import { ADMIN_TOKEN, canonicalGate, startGate } from './harness.ts';

const cli = fileURLToPath(new URL('../../../cli/bin/tributary.js', import.meta.url));

describe('tributary refresh (CLI)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('when an operator runs a refresh for the dataset, then the CLI prints the passed run', async () => {
    const gate = await startGate((await canonicalGate(cleanup)).env());
    cleanup.push(() => gate.stop());
    const url = await gate.app.http.listen({ host: '127.0.0.1', port: 0 });
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [cli, 'refresh', 'run', '--dataset', 'eval'],
      {
        env: serviceEnv({ TRIBUTARY_QUALITY_GATE_URL: url, TRIBUTARY_ADMIN_TOKEN: ADMIN_TOKEN }),
        timeout: 60_000,
      },
    );
    const run = JSON.parse(stdout) as RefreshRun;
    expect(run).toMatchObject({ status: 'passed', trigger: 'MANUAL' });
    expect((await gate.runs()).map((r) => r.datasetVersion)).toEqual([run.datasetVersion]);
  });

  it('when an operator runs a refresh job by name, then the CLI prints the run and lists the runs of that job', async () => {
    const gate = await startGate((await canonicalGate(cleanup)).env());
    cleanup.push(() => gate.stop());
    const url = await gate.app.http.listen({ host: '127.0.0.1', port: 0 });
    const tributary = (...args: string[]) =>
      promisify(execFile)(process.execPath, [cli, 'refresh', ...args], {
        env: serviceEnv({ TRIBUTARY_QUALITY_GATE_URL: url, TRIBUTARY_ADMIN_TOKEN: ADMIN_TOKEN }),
        timeout: 60_000,
      });
    const run = JSON.parse((await tributary('run', '--job', 'eval')).stdout) as RefreshRun;
    expect(run).toMatchObject({ job: 'eval', status: 'passed', trigger: 'MANUAL', settingsOrigin: 'env' });
    const listed = JSON.parse((await tributary('runs', '--job', 'eval')).stdout) as { runs: RefreshRun[] };
    expect(listed.runs.map((r) => r.datasetVersion)).toEqual([run.datasetVersion]);
    const other = JSON.parse((await tributary('runs', '--job', 'other')).stdout) as { runs: RefreshRun[] };
    expect(other.runs).toEqual([]);
  });
});
