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

  it('when an operator cancels a parked run, then the CLI prints it cancelled with who and why, and a second cancel fails', async () => {
    const { source, env } = await canonicalGate(cleanup);
    // The source is not there yet: the run is parked for a retry an hour away.
    const missing = { ...source, uri: `${source.uri}.missing` };
    const gate = await startGate(
      env({ REFRESH_SOURCES: JSON.stringify([missing]), REFRESH_RETRY_DELAYS_MS: '3600000' }),
    );
    cleanup.push(() => gate.stop());
    const url = await gate.app.http.listen({ host: '127.0.0.1', port: 0 });
    const tributary = (...args: string[]) =>
      promisify(execFile)(process.execPath, [cli, 'refresh', ...args], {
        env: serviceEnv({ TRIBUTARY_QUALITY_GATE_URL: url, TRIBUTARY_ADMIN_TOKEN: ADMIN_TOKEN }),
        timeout: 60_000,
      });
    const parked = JSON.parse((await tributary('run', '--job', 'eval')).stdout) as RefreshRun;
    expect(parked).toMatchObject({ status: 'retrying', attempt: 2 });

    const { stdout } = await tributary(
      'cancel',
      parked.datasetVersion,
      '--reason',
      'source withdrawn',
      '--actor',
      'alice',
    );
    const cancelled = JSON.parse(stdout) as RefreshRun;
    expect(cancelled).toMatchObject({
      datasetVersion: parked.datasetVersion,
      status: 'cancelled',
      reason: 'cancelled by alice: source withdrawn',
      nextAttemptAt: null,
    });
    expect(await gate.run(parked.datasetVersion)).toMatchObject({ status: 'cancelled', attempt: 2 });

    const again = await tributary('cancel', parked.datasetVersion).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 1 });
    expect((again as { stderr: string }).stderr).toContain(
      `run ${parked.datasetVersion} has already ended (cancelled)`,
    );
  });
});
