import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { ApplyResult, DatasetDeclarationInput } from '@tributary/catalog';
import {
  EventRegistry,
  batchIngested,
  batchReady,
  batchRejected,
  type BatchIngested,
  type BatchReady,
  type BatchRejected,
  type EventDefinition,
} from '@tributary/events';
import { EventProducer, createKafka } from '@tributary/kafka';
import type { ServiceApp } from '@tributary/runtime';
import { createLogger } from '@tributary/telemetry';
import {
  EventReader,
  captureLogs,
  isolatedServiceEnv,
  serviceEnv,
  settleServices,
  stackEnv,
  type LogLine,
} from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig, type Config } from '../src/config.ts';

/** A scratch folder for one test file. */
export function scratchDir(name: string): string {
  return mkdtempSync(path.join(tmpdir(), `tributary-${name}-`));
}

/** The environment of one isolated ingestor: own topics, schema, data store and source folder. */
export function ingestorEnv(root: string, extra: Record<string, string> = {}): Record<string, string> {
  return serviceEnv(
    isolatedServiceEnv('ingestor', {
      DATA_STORE_URI: pathToFileURL(path.join(root, 'store')).href,
      SOURCE_FILE_ROOTS: path.join(root, 'sources'),
      INGEST_WORK_DIR: path.join(root, 'work'),
      CONSUMER_RETRY_BASE_MS: '50',
      CONSUMER_RETRY_MAX_MS: '200',
      OUTBOX_POLL_MS: '200',
      KAFKA_TOPIC_PARTITIONS: '1',
      ...extra,
    }),
  );
}

export const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });

/** A running ingestor plus readers of the topics it writes, for one test file. */
export interface Harness {
  root: string;
  env: Record<string, string>;
  config: Config;
  app: ServiceApp;
  prefix: string;
  ingested: EventReader<BatchIngested>;
  rejected: EventReader<BatchRejected>;
  ready: EventReader<BatchReady>;
  publish(value: BatchReady): Promise<void>;
  /** Publishes any event on the harness's topics, e.g. what the preprocessor would emit. */
  emit<T>(def: EventDefinition<T>, value: T): Promise<void>;
  query<R extends object>(sql: string, params?: unknown[]): Promise<R[]>;
  /** The service's log lines (warn and above), parsed; empty unless started with `captureLogs`. */
  logs(): LogLine[];
  /**
   * Waits until the ingestor and `replicas` of it handled every event so far and each of their
   * workers finished a round since, then until the readers read every message on their topics:
   * a duplicate would now be among them.
   */
  settled(...replicas: ServiceApp[]): Promise<void>;
  close(): Promise<void>;
}

/** A minimal declaration of dataset `name`, following the repository contract `name` at 1.0.0 by default. */
export function declaration(
  name: string,
  overrides: Partial<DatasetDeclarationInput> = {},
): DatasetDeclarationInput {
  return {
    apiVersion: 'tributary/v1',
    kind: 'Dataset',
    name,
    owners: ['ingestor-tests'],
    contract: { name, versions: ['1.0.0'], current: '1.0.0' },
    ...overrides,
  };
}

/**
 * Declares datasets in the catalog of a running service (its test's own CATALOG_SCHEMA), as
 * `tributary datasets apply` does; the repository's contracts (penguins, flights, …) were published
 * from CONTRACTS_DIR when the service started.
 */
export function declareDatasets(
  app: ServiceApp,
  ...declarations: DatasetDeclarationInput[]
): Promise<ApplyResult> {
  return app.runtime.catalogStore.apply({
    datasets: declarations.map((spec) => ({ spec })),
    contracts: [],
    actor: 'test',
  });
}

/**
 * Starts an ingestor for one test file. `declare` is what its catalog declares once it runs (by
 * default the penguins dataset every test submits to); `[]` leaves the catalog without datasets.
 */
export async function startHarness(
  name: string,
  extra: Record<string, string> = {},
  opts: { declare?: DatasetDeclarationInput[]; captureLogs?: boolean } = {},
): Promise<Harness> {
  const root = scratchDir(name);
  const env = ingestorEnv(root, extra);
  const config = loadServiceConfig(env);
  await fs.mkdir(path.join(root, 'sources'), { recursive: true });
  const logs = opts.captureLogs === true ? captureLogs() : undefined;
  const app = await buildApp(config, logs ? { logDestination: logs.stream } : {});
  const declarations = opts.declare ?? [declaration('penguins')];
  if (declarations.length > 0) await declareDatasets(app, ...declarations);
  await app.start();
  const prefix = config.TOPIC_PREFIX;
  const [ingested, rejected, ready] = await Promise.all([
    EventReader.open(registry, prefix, batchIngested),
    EventReader.open(registry, prefix, batchRejected),
    EventReader.open(registry, prefix, batchReady),
  ]);
  const logger = createLogger({ serviceName: 'ingestor-test', level: 'silent' });
  const kafka = createKafka({
    clientId: 'ingestor-test',
    brokers: stackEnv.KAFKA_BROKERS.split(','),
    logger,
  });
  const producer = new EventProducer(kafka, registry, prefix);
  await producer.connect();
  const db = new pg.Pool({
    connectionString: stackEnv.DATABASE_URL,
    options: `-c search_path=${config.DATABASE_SCHEMA}`,
  });
  return {
    root,
    env,
    config,
    app,
    prefix,
    ingested,
    rejected,
    ready,
    publish: (value) => producer.publish(batchReady, value),
    emit: (def, value) => producer.publish(def, value),
    query: async <R extends object>(sql: string, params: unknown[] = []) =>
      (await db.query<R>(sql, params)).rows,
    logs: () => logs?.lines ?? [],
    settled: (...replicas) =>
      settleServices({ apps: [app, ...replicas], readers: [ingested, rejected, ready] }),
    async close() {
      await Promise.all([ingested.stop(), rejected.stop(), ready.stop(), producer.disconnect()]);
      await app.stop();
      await db.query(`DROP SCHEMA IF EXISTS ${config.DATABASE_SCHEMA} CASCADE`).catch(() => undefined);
      await db.query(`DROP SCHEMA IF EXISTS ${config.CATALOG_SCHEMA} CASCADE`).catch(() => undefined);
      await db.end();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

/** Every key under `prefix` of a filesystem store folder, sorted. */
export async function listKeys(storeDir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const key = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(path.join(dir, e.name), key);
      else if (key.startsWith(prefix)) out.push(key);
    }
  };
  await walk(storeDir, '');
  return out.sort();
}

/** The real dvc command line from the stack's virtualenv; analytics off. */
export function dvc(
  cwd: string,
  ...args: string[]
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(path.join(stackEnv.TRIBUTARY_VENV, 'bin', 'dvc'), args, {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DVC_NO_ANALYTICS: '1' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
