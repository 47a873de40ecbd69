/**
 * Runs the retrain-policy in-process against the real stack, with its own topics and schema, and
 * gives tests what they need around it: a producer of master.versioned, a collector of
 * retrain.requested and of the dead-letter topic, and the admin API through inject().
 */
import { createPool } from '@tributary/db';
import {
  EventRegistry,
  masterVersioned,
  newEventId,
  retrainRequested,
  deadLetterEvent,
  type DeadLetter,
  type MasterVersioned,
  type RetrainRequested,
} from '@tributary/events';
import { masterVersionedFixture } from '@tributary/events/fixtures';
import { EventProducer, createKafka } from '@tributary/kafka';
import type { ServiceApp } from '@tributary/runtime';
import { createLogger } from '@tributary/telemetry';
import type { MlflowRest } from '@tributary/testing';
import {
  captureLogs,
  collectMessages,
  isolatedServiceEnv,
  serviceEnv,
  stackEnv,
  testKafka,
  settleServices,
  uniqueName,
  waitFor,
} from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import type { StoredDecision } from '../src/domain/ports.ts';

export const ADMIN_TOKEN = 'retrain-policy-test-token';
export const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };

const logger = createLogger({ serviceName: 'retrain-policy-test', level: 'silent' });
const kafka = createKafka({
  clientId: 'retrain-policy-test',
  brokers: stackEnv.KAFKA_BROKERS.split(','),
  logger,
});
export const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });

type Collector = Awaited<ReturnType<typeof collectMessages>>;

export interface RunningService {
  app: ServiceApp;
  env: Record<string, string>;
  prefix: string;
  /** Publishes master.versioned to the service's topic. */
  publish(master: MasterVersioned): Promise<void>;
  retrains: Collector;
  deadLetters: Collector;
  decodedRetrains(): Promise<RetrainRequested[]>;
  decodedDeadLetters(): Promise<DeadLetter[]>;
  decisions(query?: string): Promise<StoredDecision[]>;
  /** Waits until the master version has a stored decision. */
  decisionFor(dataset: string, masterVersion: number, timeoutMs?: number): Promise<StoredDecision>;
  metric(line: RegExp): Promise<number>;
  outboxRows(): Promise<number>;
  /** The service's log lines, parsed; empty unless started with `captureLogs`. */
  logs: LogLine[];
  /**
   * Waits until the service handled every event so far and its outbox holds no unpublished row, then
   * until the collectors read their topics to the end: a wrong or duplicate retrain.requested would
   * now be among the messages. (The relay marks a row published only once Kafka has it.)
   */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** Settings that keep retries short in tests; each test adds its MLflow model and policy. */
export const FAST_RETRIES = {
  CONSUMER_MAX_RETRIES: '2',
  CONSUMER_RETRY_BASE_MS: '50',
  CONSUMER_RETRY_MAX_MS: '200',
  MLFLOW_RETRIES: '1',
  MLFLOW_RETRY_BASE_MS: '50',
  MLFLOW_RETRY_MAX_MS: '200',
  MLFLOW_TIMEOUT_MS: '5000',
  SHUTDOWN_GRACE_MS: '2000',
};

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export async function startService(
  extra: Record<string, string>,
  opts: { captureLogs?: boolean } = {},
): Promise<RunningService> {
  const env = serviceEnv(
    isolatedServiceEnv('retrain-policy', {
      MLFLOW_TRACKING_URI: stackEnv.MLFLOW_TRACKING_URI,
      ADMIN_TOKEN,
      ...FAST_RETRIES,
      ...extra,
    }),
  );
  const prefix = env.TOPIC_PREFIX!;
  const { stream: destination, lines: logs } = captureLogs<LogLine>();
  const app = await buildApp(
    loadServiceConfig(env),
    opts.captureLogs === true ? { logDestination: destination } : {},
  );
  await app.start();
  const producer = new EventProducer(kafka, registry, prefix);
  await producer.connect();
  const retrains = await collectMessages(testKafka(), `${prefix}${retrainRequested.topic}`);
  const deadLetters = await collectMessages(testKafka(), `${prefix}dlq.retrain-policy`);
  const pool = createPool({ url: stackEnv.DATABASE_URL, schema: env.DATABASE_SCHEMA! });

  const decisions = async (query = '') => {
    const res = await app.http.inject({ method: 'GET', url: `/admin/decisions${query}`, headers: AUTH });
    if (res.statusCode !== 200)
      throw new Error(`GET /admin/decisions answered ${res.statusCode}: ${res.body}`);
    return res.json<{ decisions: StoredDecision[] }>().decisions;
  };

  return {
    app,
    env,
    prefix,
    publish: (master) => producer.publish(masterVersioned, master),
    retrains,
    deadLetters,
    decodedRetrains: () =>
      Promise.all(retrains.messages.map((m) => registry.decode(retrainRequested, m.value!))),
    decodedDeadLetters: () =>
      Promise.all(
        deadLetters.messages.map((m) => registry.decode(deadLetterEvent('retrain-policy'), m.value!)),
      ),
    decisions,
    decisionFor: (dataset, masterVersion, timeoutMs = 30_000) =>
      waitFor(async () => (await decisions(`?dataset=${dataset}&master_version=${masterVersion}`))[0], {
        timeoutMs,
        what: `decision for ${dataset} v${masterVersion}`,
      }),
    async metric(line) {
      const res = await app.http.inject({ method: 'GET', url: '/metrics' });
      const found = res.body.split('\n').find((l) => line.test(l));
      return found ? Number(found.split(' ').at(-1)) : 0;
    },
    async outboxRows() {
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
      return rows[0]!.n;
    },
    logs,
    settled: () => settleServices({ apps: [app], pool, readers: [retrains, deadLetters] }),
    async stop() {
      await Promise.allSettled([retrains.stop(), deadLetters.stop(), producer.disconnect()]);
      await app.stop();
      await pool.query(`DROP SCHEMA IF EXISTS ${env.DATABASE_SCHEMA!} CASCADE`).catch(() => undefined);
      await pool.query(`DROP SCHEMA IF EXISTS ${env.CATALOG_SCHEMA!} CASCADE`).catch(() => undefined);
      await pool.end();
    },
  };
}

/** A master.versioned for `dataset` at `version` with `rows` rows (the fixture's other fields). */
export function masterEvent(dataset: string, version: number, rows: number): MasterVersioned {
  return {
    ...masterVersionedFixture,
    event_id: newEventId(),
    dataset,
    master_version: version,
    previous_version: version > 1 ? version - 1 : null,
    row_count: rows,
    location: `s3://tributary-masters/${dataset}/v${version}`,
    dvc_file: `s3://tributary-masters/${dataset}/v${version}.dvc`,
  };
}

// A type, not an interface, so that it fits where MLflow tags (a string record) are expected.
export type ModelVersions = {
  feature_version: string;
  split_version: string;
  model_version: string;
};

/** Unique names for one test's MLflow objects and versions, so tests never see each other's runs. */
export function mlflowNames() {
  const id = uniqueName('rtp');
  return {
    model: `${id}-model`,
    experiment: `${id}-training`,
    dataset: `${id}-ds`,
    versions: { feature_version: `f-${id}`, split_version: `s-${id}`, model_version: `m-${id}` },
  };
}

/**
 * The usual MLflow content: a training experiment, the production run (registered as version 1
 * with the alias `production`), and `masterRows` logged on it. Returns the ids.
 */
export async function seedProductionModel(
  mlflow: MlflowRest,
  names: ReturnType<typeof mlflowNames>,
  opts: { masterRows?: number; endTime?: number } = {},
): Promise<{ experimentId: string; productionRunId: string; version: string }> {
  const experimentId = await mlflow.createExperiment(names.experiment);
  const productionRunId = await mlflow.createRun(experimentId, {
    tags: { ...names.versions },
    metrics: opts.masterRows === undefined ? {} : { master_rows: opts.masterRows },
    ...(opts.endTime === undefined ? {} : { startTime: opts.endTime - 1000, endTime: opts.endTime }),
  });
  await mlflow.createRegisteredModel(names.model);
  const version = await mlflow.createModelVersion(names.model, productionRunId);
  await mlflow.setAlias(names.model, 'production', version);
  return { experimentId, productionRunId, version };
}
