/**
 * Runs the quality-gate in-process against the real stack, with its own topics, schema and
 * directories, and gives tests sources, a collector of quality.evaluated and the admin API.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createPool } from '@tributary/db';
import { jobsSchema } from '@tributary/jobs';
import { EventRegistry, qualityEvaluated, type QualityEvaluated } from '@tributary/events';
import { EventProducer, createKafka } from '@tributary/kafka';
import type { ServiceApp } from '@tributary/runtime';
import { createLogger } from '@tributary/telemetry';
import {
  captureLogs,
  collectMessages,
  isolatedServiceEnv,
  serviceEnv,
  stackEnv,
  settleServices,
  testKafka,
  writeJsonlSource,
} from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { RunsRepository } from '../src/data-access/runs-repository.ts';
import { loadServiceConfig } from '../src/config.ts';
import type { Baseline, RefreshRun } from '../src/domain/ports.ts';

export const ADMIN_TOKEN = 'quality-gate-test-token';
export const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
export const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });

const WORDS = ['river', 'stone', 'quiet', 'bright', 'falls', 'over', 'morning', 'green', 'light', 'delta'];

/** 60 rows over three labels, varied text and a numeric column. */
export function sourceRows(): Record<string, unknown>[] {
  return Array.from({ length: 60 }, (_, i) => ({
    id: i,
    label: ['a', 'b', 'c'][i % 3],
    text:
      Array.from({ length: 6 }, (_, k) => WORDS[(i * 7 + k * ((i % 5) + 1)) % WORDS.length]).join(' ') +
      ` item${i}`,
    length: 10 + (i % 10),
  }));
}

/** The baseline the sources pass against. */
export function passingBaseline(): Omit<Baseline, 'name'> {
  return {
    required_slices: ['a', 'b', 'c'],
    metrics: { diversity: 0.8, toxicity: 0 },
    columns: {
      label: { type: 'categorical', frequencies: { a: 1, b: 1, c: 1 } },
      length: { type: 'numeric', values: Array.from({ length: 60 }, (_, i) => 10 + (i % 10)) },
    },
  };
}

export interface Workspace {
  dir: string;
  storeUri: string;
  /** Writes a JSONL source and answers its REFRESH_SOURCES entry. */
  source(
    name: string,
    rows: Record<string, unknown>[],
  ): Promise<{ name: string; uri: string; sha256: string; schema_version: string }>;
  /** Writes `rows` as `<dir>/<name>.parquet` with DuckDB (through a JSONL copy) and answers its bytes. */
  parquet(name: string, rows: Record<string, unknown>[]): Promise<Buffer>;
  readStore(uri: string): Promise<string>;
  remove(): Promise<void>;
}

export async function workspace(): Promise<Workspace> {
  const dir = await mkdtemp(path.join(tmpdir(), 'qg-test-'));
  const source: Workspace['source'] = (name, rows) =>
    writeJsonlSource(path.join(dir, `${name}.jsonl`), name, rows);
  return {
    dir,
    storeUri: pathToFileURL(path.join(dir, 'store')).href,
    source,
    async parquet(name, rows) {
      const jsonl = fileURLToPath((await source(`${name}-input`, rows)).uri);
      const file = path.join(dir, `${name}.parquet`);
      const instance = await DuckDBInstance.create(':memory:');
      try {
        const conn = await instance.connect();
        await conn.run(
          `COPY (SELECT * FROM read_json('${jsonl}', format = 'newline_delimited')) TO '${file}' (FORMAT parquet)`,
        );
        conn.closeSync();
      } finally {
        instance.closeSync();
      }
      return readFile(file);
    },
    readStore: (uri) => readFile(fileURLToPath(uri), 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * A workspace holding the canonical source (removed by `cleanup`) and gate settings that pass on
 * it: `env(extra)` gives them with the test's own settings on top.
 */
export async function canonicalGate(cleanup: (() => Promise<void>)[]) {
  const ws = await workspace();
  cleanup.push(() => ws.remove());
  const source = await ws.source('canonical', sourceRows());
  const env = (extra: Record<string, string> = {}) =>
    gateEnv({
      REFRESH_STORE_URI: ws.storeUri,
      REFRESH_SOURCES: JSON.stringify([source]),
      BASELINE_SEED: JSON.stringify(passingBaseline()),
      ...extra,
    });
  return { ws, source, env };
}

/** A JSON log line of the gate. */
export type LogLine = Record<string, unknown> & {
  msg?: string;
  dag_run_id?: string;
  dataset_version?: string;
};

export interface RunningGate {
  app: ServiceApp;
  /** The gate's log lines, when started with `captureLogs` (else they go to stdout). */
  logs: LogLine[];
  env: Record<string, string>;
  evaluated: Awaited<ReturnType<typeof collectMessages>>;
  decodedEvaluated(): Promise<QualityEvaluated[]>;
  refresh(dataset?: string): Promise<{ statusCode: number; run: RefreshRun }>;
  putBaseline(name: string, body: unknown): Promise<number>;
  runs(): Promise<RefreshRun[]>;
  run(datasetVersion: string): Promise<RefreshRun>;
  metric(line: RegExp): Promise<number>;
  /**
   * Waits until the gate handled every event so far, each of its polling workers (the stale-run
   * check, the outbox relay, the job worker) finished a round begun after that, its outbox holds
   * nothing unpublished and the collector read quality.evaluated to its end: a duplicate run or
   * event would now be visible.
   */
  settled(): Promise<void>;
  stop(dropSchema?: boolean): Promise<void>;
}

/** Settings every test starts from; `extra` adds sources, store and schedule. */
export function gateEnv(extra: Record<string, string>): Record<string, string> {
  return serviceEnv(
    isolatedServiceEnv('quality-gate', {
      ADMIN_TOKEN,
      REFRESH_DATASET: 'eval',
      REFRESH_SCHEDULE_ENABLED: 'false',
      SHUTDOWN_GRACE_MS: '2000',
      ...extra,
    }),
  );
}

export async function startGate(
  env: Record<string, string>,
  opts: { captureLogs?: boolean } = {},
): Promise<RunningGate> {
  const { stream: destination, lines: logs } = captureLogs<LogLine>();
  const app = await buildApp(
    loadServiceConfig(env),
    opts.captureLogs === true ? { logDestination: destination } : {},
  );
  await app.start();
  const evaluated = await collectMessages(testKafka(), `${env.TOPIC_PREFIX!}${qualityEvaluated.topic}`);
  const pool = createPool({ url: stackEnv.DATABASE_URL, schema: env.DATABASE_SCHEMA! });
  return {
    app,
    logs,
    env,
    evaluated,
    decodedEvaluated: () =>
      Promise.all(evaluated.messages.map((m) => registry.decode(qualityEvaluated, m.value!))),
    async refresh(dataset = 'eval') {
      const res = await app.http.inject({
        method: 'POST',
        url: '/admin/refresh',
        headers: AUTH,
        payload: { dataset },
      });
      return { statusCode: res.statusCode, run: res.json<RefreshRun>() };
    },
    async putBaseline(name, body) {
      const res = await app.http.inject({
        method: 'PUT',
        url: `/admin/baselines/${name}`,
        headers: AUTH,
        payload: body as object,
      });
      return res.statusCode;
    },
    async runs() {
      const res = await app.http.inject({ method: 'GET', url: '/admin/runs', headers: AUTH });
      return res.json<{ runs: RefreshRun[] }>().runs;
    },
    // From the registry rather than /metrics, so that it still answers after stop().
    async run(datasetVersion) {
      const res = await app.http.inject({
        method: 'GET',
        url: `/admin/runs/${datasetVersion}`,
        headers: AUTH,
      });
      return res.json<RefreshRun>();
    },
    async metric(line) {
      const text = await app.runtime.metrics.registry.metrics();
      const found = text.split('\n').find((l) => line.test(l));
      return found ? Number(found.split(' ').at(-1)) : 0;
    },
    settled: () => settleServices({ apps: [app], pool, readers: [evaluated] }),
    async stop(dropSchema = true) {
      await evaluated.stop();
      await app.stop();
      if (dropSchema) {
        for (const schema of [env.DATABASE_SCHEMA!, jobsSchema(env.DATABASE_SCHEMA!)]) {
          await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
        }
      }
      await pool.end();
    },
  };
}

/** The runs stored in a schema, read straight from Postgres (works after the apps stopped). */
export async function storedRuns(schema: string, drop = false): Promise<RefreshRun[]> {
  const pool = createPool({ url: stackEnv.DATABASE_URL, schema });
  try {
    return await new RunsRepository(pool).list(500);
  } finally {
    if (drop) {
      for (const name of [schema, jobsSchema(schema)]) {
        await pool.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`).catch(() => undefined);
      }
    }
    await pool.end();
  }
}

/** A producer on the gate's topics (e.g. of master.versioned), disconnected by `cleanup`. */
export async function gateProducer(
  gate: Pick<RunningGate, 'env'>,
  cleanup: (() => Promise<void>)[],
): Promise<EventProducer> {
  const kafka = createKafka({
    clientId: 'qg-test',
    brokers: stackEnv.KAFKA_BROKERS.split(','),
    logger: createLogger({ serviceName: 'qg-test', level: 'silent' }),
  });
  const producer = new EventProducer(kafka, registry, gate.env.TOPIC_PREFIX);
  await producer.connect();
  cleanup.push(() => producer.disconnect());
  return producer;
}
