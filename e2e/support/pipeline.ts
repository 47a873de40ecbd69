/**
 * The deployed shape for end-to-end tests: ingestor, preprocessor and retrain-policy as separate
 * processes on their own topics (a shared prefix), each with its own schema, one data store, and a
 * production model in MLflow trained on 0 master rows (so any new master asks for a retrain).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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
  type RunningProcess,
  type SampleBatch,
} from '@tributary/testing';

export const PIPELINE_SERVICES = ['ingestor', 'preprocessor', 'retrain-policy'] as const;

export interface Pipeline {
  prefix: string;
  work: string;
  landing: string;
  model: string;
  adminToken: string;
  ports: Map<string, number>;
  procs: RunningProcess[];
  url(service: (typeof PIPELINE_SERVICES)[number]): string;
  /** Publishes `batch.ready` for a sample batch (source KAFKA) and waits for its retrain request. */
  submitAndAwaitRetrain(batch: SampleBatch, batchId: string): Promise<RetrainRequested>;
  stop(): Promise<void>;
}

export async function startPipeline(name: string, extraEnv: Record<string, string> = {}): Promise<Pipeline> {
  const id = uniqueName(name);
  const prefix = `${id}.`;
  const work = mkdtempSync(join(tmpdir(), `tributary-${name}-`));
  const landing = join(work, 'landing');
  const adminToken = `${name}-admin-token-0123456789`;
  const model = uniqueName(`${name}_model`);
  const mlflow = new MlflowRest();
  const tags = { feature_version: 'f1', split_version: 's1', model_version: 'm1' };
  const experiment = await mlflow.createExperiment(uniqueName(`${name}_exp`));
  const trainingRun = await mlflow.createRun(experiment, { tags, metrics: { master_rows: 0 } });
  await mlflow.createRegisteredModel(model);
  await mlflow.setAlias(model, 'production', await mlflow.createModelVersion(model, trainingRun));

  const ports = new Map<string, number>();
  const procs: RunningProcess[] = [];
  // All three start side by side; each must answer /readyz (broker, registry, database, its own deps).
  await Promise.all(
    PIPELINE_SERVICES.map(async (service) => {
      const port = await freePort();
      ports.set(service, port);
      const proc = startTsProcess(
        new URL(`../../services/${service}/src/main.ts`, import.meta.url),
        serviceEnv({
          SERVICE_NAME: service,
          TOPIC_PREFIX: prefix,
          DATABASE_SCHEMA: `${id}_${service.replace('-', '_')}`,
          HTTP_PORT: String(port),
          DATA_STORE_URI: pathToFileURL(join(work, 'store')).href,
          SOURCE_FILE_ROOTS: work,
          LANDING_DIR: landing,
          LANDING_SCAN_INTERVAL_MS: '500',
          MLFLOW_TRACKING_URI: stackEnv.MLFLOW_TRACKING_URI,
          MLFLOW_MODEL_NAME: model,
          MLFLOW_EXPERIMENT_IDS: experiment,
          RETRAIN_THRESHOLD_ROWS: '1',
          ADMIN_TOKEN: adminToken,
          LOG_LEVEL: 'info',
          ...extraEnv,
        }),
      );
      procs.push(proc);
      await waitFor(
        async () =>
          (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok ? true : undefined,
        { timeoutMs: 150_000, what: `${service} ready` },
      ).catch((err: unknown) => {
        process.stderr.write(`${service}:\n${proc.stdout().slice(-1500)}\n${proc.stderr().slice(-1500)}\n`);
        throw err;
      });
    }),
  );

  const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });
  return {
    prefix,
    work,
    landing,
    model,
    adminToken,
    ports,
    procs,
    url: (service) => `http://127.0.0.1:${ports.get(service)}`,
    async submitAndAwaitRetrain(batch, batchId) {
      const requests = await collectMessages(testKafka(), `${prefix}${retrainRequested.topic}`);
      const logger = createLogger({ serviceName: `${name}-test`, level: 'silent' });
      const kafka = createKafka({
        clientId: `${name}-test`,
        brokers: stackEnv.KAFKA_BROKERS.split(','),
        logger,
      });
      const producer = new EventProducer(kafka, registry, prefix);
      await producer.connect();
      await producer.publish(batchReady, {
        event_id: uniqueName('evt'),
        occurred_at: Date.now(),
        run_id: null,
        dataset: 'penguins',
        batch_id: batchId,
        producer: `${name}-test`,
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
      try {
        const [message] = await requests.waitForMessages(1, 180_000);
        return await registry.decode(retrainRequested, message!.value!);
      } catch (err) {
        for (const p of procs)
          process.stderr.write(`${p.stdout().slice(-3000)}\n${p.stderr().slice(-3000)}\n`);
        throw err;
      } finally {
        await requests.stop();
      }
    },
    async stop() {
      for (const p of procs) p.child.kill('SIGTERM');
      await Promise.all(procs.map((p) => p.exited));
    },
  };
}
