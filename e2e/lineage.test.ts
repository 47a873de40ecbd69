/**
 * `tributary lineage` against running services: a batch goes through the ingestor, the preprocessor
 * and the retrain policy (each a separate process, as deployed), then the CLI stitches the chain
 * batch → raw snapshot → master version → retrain request from their APIs, under one trace id.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRegistry, batchReady, retrainRequested, type RetrainRequested } from '@tributary/events';
import { EventProducer, createKafka } from '@tributary/kafka';
import { createLogger } from '@tributary/telemetry';
import {
  MlflowRest,
  collectMessages,
  freePort,
  serviceEnv,
  stackEnv,
  startTsProcess,
  testKafka,
  uniqueName,
  waitFor,
  writeSampleBatch,
  type RunningProcess,
} from '@tributary/testing';

const SERVICES = ['ingestor', 'preprocessor', 'retrain-policy'] as const;
const ADMIN_TOKEN = 'lineage-admin-token-0123456789';
const ports = new Map<string, number>();
const id = uniqueName('lineage');
const prefix = `${id}.`;
const work = mkdtempSync(join(tmpdir(), 'tributary-lineage-'));
const store = pathToFileURL(join(work, 'store')).href;
const procs: RunningProcess[] = [];
const mlflow = new MlflowRest();
const model = uniqueName('lineage_model');

beforeAll(async () => {
  // A production model trained on 0 master rows: any new master asks for a retrain.
  const tags = { feature_version: 'f1', split_version: 's1', model_version: 'm1' };
  const experiment = await mlflow.createExperiment(uniqueName('lineage_exp'));
  const trainingRun = await mlflow.createRun(experiment, { tags, metrics: { master_rows: 0 } });
  await mlflow.createRegisteredModel(model);
  const version = await mlflow.createModelVersion(model, trainingRun);
  await mlflow.setAlias(model, 'production', version);

  await Promise.all(
    SERVICES.map(async (service) => {
      const port = await freePort();
      ports.set(service, port);
      const env = serviceEnv({
        SERVICE_NAME: service,
        TOPIC_PREFIX: prefix,
        DATABASE_SCHEMA: `${id}_${service.replace('-', '_')}`,
        HTTP_PORT: String(port),
        DATA_STORE_URI: store,
        SOURCE_FILE_ROOTS: work,
        MLFLOW_TRACKING_URI: stackEnv.MLFLOW_TRACKING_URI,
        MLFLOW_MODEL_NAME: model,
        MLFLOW_EXPERIMENT_IDS: experiment,
        RETRAIN_THRESHOLD_ROWS: '1',
        ADMIN_TOKEN,
        LANDING_DIR: join(work, 'landing'),
        LOG_LEVEL: 'info',
      });
      const proc = startTsProcess(new URL(`../services/${service}/src/main.ts`, import.meta.url), env);
      procs.push(proc);
      await waitFor(
        async () =>
          (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok ? true : undefined,
        {
          timeoutMs: 150_000,
          what: `${service} ready (stderr: ${proc.stderr().slice(-1500)} stdout: ${proc.stdout().slice(-1500)})`,
        },
      );
    }),
  );
}, 300_000);

afterAll(async () => {
  for (const p of procs) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.exited));
});

/** Runs the CLI; resolves with its exit code and stdout. */
async function tributary(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = spawn(
    process.execPath,
    [fileURLToPath(new URL('../cli/bin/tributary.js', import.meta.url)), ...args],
    {
      env: { ...process.env, TRIBUTARY_ADMIN_TOKEN: ADMIN_TOKEN },
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
    const batch = await writeSampleBatch(join(work, 'batch-1'), { count: 12, images: 2 });
    const requests = await collectMessages(testKafka(), `${prefix}${retrainRequested.topic}`);
    const logger = createLogger({ serviceName: 'lineage-test', level: 'silent' });
    const kafka = createKafka({
      clientId: 'lineage-test',
      brokers: stackEnv.KAFKA_BROKERS.split(','),
      logger,
    });
    const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });
    const producer = new EventProducer(kafka, registry, prefix);
    await producer.connect();
    await producer.publish(batchReady, {
      event_id: uniqueName('evt'),
      occurred_at: Date.now(),
      run_id: null,
      dataset: 'penguins',
      batch_id: 'lineage-batch-1',
      producer: 'lineage-test',
      source: 'KAFKA',
      contract: { name: 'penguins', version: '1.0.0' },
      files: batch.files.map((f) => ({
        path: f.path,
        uri: pathToFileURL(f.absolutePath).href,
        role: f.role,
        sha256: f.sha256,
        size_bytes: f.size,
        schema_version: f.role === 'TABLE' ? '1.0.0' : null,
      })),
      attributes: {},
    });
    await producer.disconnect();
    const [message] = await requests.waitForMessages(1, 180_000).catch((err: unknown) => {
      for (const p of procs) process.stderr.write(`${p.stdout().slice(-3000)}\n${p.stderr().slice(-3000)}\n`);
      throw err;
    });
    await requests.stop();
    const request = await registry.decode<RetrainRequested>(retrainRequested, message!.value!);

    const url = (service: string) => `http://127.0.0.1:${ports.get(service)}`;
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
