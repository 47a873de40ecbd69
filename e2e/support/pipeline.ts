/**
 * The deployed shape for end-to-end tests: all six services as separate processes on their own
 * topics (a shared prefix), each with its own schema, one data store, a production model in MLflow
 * trained on 0 master rows (so any new master asks for a retrain), a quality-gate that refreshes the
 * penguins evaluation set on each master version, and local Slack, PagerDuty and SMTP receivers.
 * The services get no per-dataset setting: the penguins dataset is declared in a file and applied
 * with `tributary datasets apply`, as a deployment does.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import {
  EventRegistry,
  batchReady,
  datasetPublished,
  retrainRequested,
  type DatasetPublished,
  type RetrainRequested,
} from '@tributary/events';
import { EventProducer, createKafka } from '@tributary/kafka';
import { createLogger } from '@tributary/telemetry';
import {
  collectMessages,
  freePort,
  MlflowRest,
  batchReadyFor,
  serviceEnv,
  stackEnv,
  startJsonReceiver,
  startSmtpReceiver,
  startTsProcess,
  testKafka,
  uniqueName,
  waitFor,
  waitForServing,
  penguinRows,
  runTributary,
  writeJsonlSource,
  type JsonReceiver,
  type RunningProcess,
  type SampleBatch,
  type SmtpReceiver,
} from '@tributary/testing';

export const PIPELINE_SERVICES = [
  'ingestor',
  'preprocessor',
  'quality-gate',
  'publisher',
  'notifier',
  'retrain-policy',
] as const;
export type PipelineService = (typeof PIPELINE_SERVICES)[number];

export interface Pipeline {
  prefix: string;
  work: string;
  landing: string;
  model: string;
  /** The model the flights dataset retrains (a second declared dataset with a model of its own). */
  flightsModel: string;
  /** The Slack channel penguins declares for its notifications (the deployment default is `slack`). */
  penguinsSlack: JsonReceiver;
  adminToken: string;
  ports: Map<PipelineService, number>;
  procs: RunningProcess[];
  slack: JsonReceiver;
  smtp: SmtpReceiver;
  registry: EventRegistry;
  url(service: PipelineService): string;
  /** Publishes `batch.ready` for a sample batch (source KAFKA) and waits for its retrain request. */
  submitAndAwaitRetrain(batch: SampleBatch, batchId: string): Promise<RetrainRequested>;
  /** Waits for the dataset the refresh published from a master version. */
  awaitPublished(masterVersion: number): Promise<DatasetPublished>;
  stop(): Promise<void>;
}

/**
 * The refresh's sources: penguin-like rows over three species (a canonical file), plus the master
 * version that triggered the run, read from the preprocessor's store. The baseline is what they make
 * together when that master is the first sample batch (`FIRST_MASTER_ROWS` penguins), so its gate
 * passes; later, larger masters may drift from it.
 */
async function refreshSource(work: string): Promise<{ sources: unknown[]; baseline: unknown }> {
  const species = ['Adelie', 'Chinstrap', 'Gentoo'];
  const words = ['ice', 'krill', 'shore', 'colony', 'nest', 'swim', 'dive', 'egg', 'chick', 'wave'];
  const rows = Array.from({ length: 60 }, (_, i) => ({
    id: i,
    species: species[i % 3]!,
    text: `${Array.from({ length: 6 }, (_, k) => words[(i * 7 + k * ((i % 5) + 1)) % words.length]).join(' ')} note${i}`,
    flipper_length_mm: 180 + (i % 10),
  }));
  const source = await writeJsonlSource(join(work, 'penguins-eval.jsonl'), 'penguins-eval', rows);
  const master = await penguinRows({ count: FIRST_MASTER_ROWS });
  const all = [...rows, ...master];
  const frequencies: Record<string, number> = {};
  for (const r of all) frequencies[r.species] = (frequencies[r.species] ?? 0) + 1;
  const baseline = {
    required_slices: species,
    metrics: { diversity: 0.8, toxicity: 0 },
    columns: {
      species: { type: 'categorical', frequencies },
      flipper_length_mm: {
        type: 'numeric',
        values: all.flatMap((r) => (r.flipper_length_mm === null ? [] : [r.flipper_length_mm])),
      },
    },
  };
  const masterSource = { name: 'master', master: true, schema_version: source.schema_version };
  return { sources: [source, masterSource], baseline };
}

/** Rows of the first batch the pipeline tests submit, so of master version 1. */
export const FIRST_MASTER_ROWS = 25;

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
  // The flights dataset's model: its own experiment, training run and production version.
  const flightsModel = uniqueName(`${name}_flights_model`);
  const flightsExperiment = await mlflow.createExperiment(uniqueName(`${name}_flights_exp`));
  const flightsRun = await mlflow.createRun(flightsExperiment, { tags, metrics: { master_rows: 0 } });
  await mlflow.createRegisteredModel(flightsModel);
  await mlflow.setAlias(
    flightsModel,
    'production',
    await mlflow.createModelVersion(flightsModel, flightsRun),
  );

  const [slack, penguinsSlack, pagerduty, smtp] = await Promise.all([
    startJsonReceiver(),
    startJsonReceiver(),
    startJsonReceiver(),
    startSmtpReceiver(),
  ]);
  const refresh = await refreshSource(work);
  const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });

  const ports = new Map<PipelineService, number>();
  for (const service of PIPELINE_SERVICES) ports.set(service, await freePort());
  const url = (service: PipelineService) => `http://127.0.0.1:${ports.get(service)}`;
  const store = (dir: string) => pathToFileURL(join(work, dir)).href;
  const procs: RunningProcess[] = [];
  // All six start side by side; each must answer /readyz (broker, registry, database, its own deps).
  // If one does not, the others are killed so no service outlives the failed start.
  const started = Promise.all(
    PIPELINE_SERVICES.map(async (service) => {
      const port = ports.get(service)!;
      const proc = startTsProcess(
        new URL(`../../services/${service}/src/main.ts`, import.meta.url),
        serviceEnv({
          SERVICE_NAME: service,
          TOPIC_PREFIX: prefix,
          DATABASE_SCHEMA: `${id}_${service.replace('-', '_')}`,
          HTTP_PORT: String(port),
          ADMIN_TOKEN: adminToken,
          LOG_LEVEL: 'info',
          // ingestor and preprocessor
          DATA_STORE_URI: store('store'),
          SOURCE_FILE_ROOTS: work,
          LANDING_DIR: landing,
          LANDING_SCAN_INTERVAL_MS: '500',
          LINEAGE_INGESTOR_URL: url('ingestor'),
          LINEAGE_QUALITY_GATE_URL: url('quality-gate'),
          LINEAGE_PUBLISHER_URL: url('publisher'),
          LINEAGE_RETRAIN_POLICY_URL: url('retrain-policy'),
          CATALOG_SCHEMA: `${id}_catalog`,
          REFRESH_STORE_URI: store('refresh'),
          // publisher
          PUBLISH_STORE_URI: store('published'),
          // notifier
          SLACK_WEBHOOK_URL: slack.url,
          PAGERDUTY_EVENTS_URL: pagerduty.url,
          PAGERDUTY_ROUTING_KEY: 'e2e-routing-key',
          SMTP_HOST: smtp.host,
          SMTP_PORT: String(smtp.port),
          EVAL_DISTRIBUTION_LIST: 'eval-team@example.org',
          // retrain-policy
          MLFLOW_TRACKING_URI: stackEnv.MLFLOW_TRACKING_URI,
          ...extraEnv,
        }),
      );
      procs.push(proc);
      await waitForServing(proc, port, { path: '/readyz', timeoutMs: 150_000, what: `${service} ready` });
    }),
  );
  await started.catch(async (err: unknown) => {
    for (const p of procs) p.child.kill('SIGKILL');
    await Promise.all([slack.close(), penguinsSlack.close(), pagerduty.close(), smtp.close()]);
    throw err;
  });

  await declareDatasets(work, url('ingestor'), adminToken, {
    model,
    experiment,
    flightsModel,
    flightsExperiment,
    penguinsSlack: penguinsSlack.url,
    ...refresh,
  }).catch(async (err: unknown) => {
    for (const p of procs) p.child.kill('SIGKILL');
    await Promise.all([slack.close(), penguinsSlack.close(), pagerduty.close(), smtp.close()]);
    throw err;
  });

  // Collected from the start (the services created the topic), so no test misses a publish.
  const published = await collectMessages(testKafka(), `${prefix}${datasetPublished.topic}`);
  const dumpLogs = () => {
    for (const p of procs) process.stderr.write(`${p.stdout().slice(-3000)}\n${p.stderr().slice(-3000)}\n`);
  };
  return {
    prefix,
    work,
    landing,
    model,
    flightsModel,
    penguinsSlack,
    adminToken,
    ports,
    procs,
    slack,
    smtp,
    registry,
    url,
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
      await producer.publish(batchReady, batchReadyFor(batch, { batchId, producer: `${name}-test` }));
      await producer.disconnect();
      try {
        const [message] = await requests.waitForMessages(1, 180_000);
        return await registry.decode(retrainRequested, message!.value!);
      } catch (err) {
        dumpLogs();
        throw err;
      } finally {
        await requests.stop();
      }
    },
    async awaitPublished(masterVersion) {
      return waitFor(
        async () => {
          const events = await Promise.all(
            published.messages.map((m) => registry.decode(datasetPublished, m.value!)),
          );
          return events.find((e) => e.master_version === masterVersion);
        },
        { timeoutMs: 120_000, what: `dataset.published of master version ${masterVersion}` },
      ).catch((err: unknown) => {
        dumpLogs();
        throw err;
      });
    },
    async stop() {
      await published.stop();
      for (const p of procs) p.child.kill('SIGTERM');
      await Promise.all(procs.map((p) => p.exited));
      await Promise.all([slack.close(), penguinsSlack.close(), pagerduty.close(), smtp.close()]);
    },
  };
}

/**
 * Declares the deployment's datasets as a team would: a file each in a folder of declarations,
 * applied with the CLI. Penguins retrains its model from one new row, builds the `penguins`
 * evaluation set on each master version and sends its notifications to a Slack channel of its own;
 * Seattle weather drives no model and has no evaluation set; flights retrains a model of its own.
 */
async function declareDatasets(
  work: string,
  ingestorUrl: string,
  adminToken: string,
  d: {
    model: string;
    experiment: string;
    flightsModel: string;
    flightsExperiment: string;
    penguinsSlack: string;
    sources: unknown[];
    baseline: unknown;
  },
): Promise<void> {
  const dir = join(work, 'datasets');
  mkdirSync(dir, { recursive: true });
  const contract = (name: string) => ({ name, versions: ['1.0.0'], current: '1.0.0' });
  const declarations = [
    {
      apiVersion: 'tributary/v1',
      kind: 'Dataset',
      name: 'penguins',
      owners: ['field-team'],
      contract: contract('penguins'),
      retrain_policies: [{ model: d.model, experiments: [d.experiment], threshold_rows: 1 }],
      refresh_jobs: [
        {
          name: 'penguins',
          schedule: null,
          on_master_versioned: true,
          sources: d.sources,
          sampling: { stratify_column: 'species' },
          baseline: { name: 'baseline_eval_v1', seed: d.baseline },
        },
      ],
      notifications: { slack_webhook: d.penguinsSlack },
    },
    {
      apiVersion: 'tributary/v1',
      kind: 'Dataset',
      name: 'seattle-weather',
      owners: ['climate-team'],
      contract: contract('seattle-weather'),
    },
    {
      apiVersion: 'tributary/v1',
      kind: 'Dataset',
      name: 'flights',
      owners: ['ops-team'],
      contract: contract('flights'),
      retrain_policies: [{ model: d.flightsModel, experiments: [d.flightsExperiment], threshold_rows: 1 }],
    },
  ];
  for (const declaration of declarations) {
    writeFileSync(join(dir, `${declaration.name}.yaml`), stringify(declaration));
  }
  const contracts = fileURLToPath(new URL('../../contracts/', import.meta.url));
  const applied = await runTributary(
    ['datasets', 'apply', dir, '--contracts', contracts, '--url', ingestorUrl, '--actor', 'e2e'],
    { TRIBUTARY_ADMIN_TOKEN: adminToken },
  );
  const created = ['penguins', 'seattle-weather', 'flights'].every((n) =>
    applied.stdout.includes(`dataset/${n} created`),
  );
  if (applied.code !== 0 || !created) {
    throw new Error(`tributary datasets apply failed (${applied.code}): ${applied.stdout}${applied.stderr}`);
  }
}
