// Benchmark of the preprocessor's validate + merge against the seed's approach (rewrite the whole
// master.parquet for every batch), on real data: slices of vega-datasets' flights-3m.parquet with an
// id column, under contracts/flights/1.0.0.yaml. Needs the local stack (scripts/stack.sh up).
//
//   node bench/merge.bench.ts            full run (about 5 minutes on 2 cores)
//   node bench/merge.bench.ts --quick    smaller sizes, for a smoke run
//   node bench/merge.bench.ts --only throughput,latency   some sections only
//
// See bench/README.md for what each figure means.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { defaultContractsDir, loadContract } from '@tributary/contracts';
import { createPool, migrate, type Pool } from '@tributary/db';
import { buildDirObject, hashFile } from '@tributary/dvc';
import {
  EventRegistry,
  batchIngested,
  masterVersioned,
  newEventId,
  prefixEvent,
  type BatchIngested,
} from '@tributary/events';
import { EventProducer, createKafka } from '@tributary/kafka';
import { outboxMigrations } from '@tributary/outbox';
import { createObjectStore, objectUri } from '@tributary/storage';
import { createLogger } from '@tributary/telemetry';
import { isolatedServiceEnv, serviceEnv, stackEnv, testKafka, uniqueName } from '@tributary/testing';
import { buildApp, createProcessBatch } from '../services/preprocessor/src/app.ts';
import { loadServiceConfig } from '../services/preprocessor/src/config.ts';
import type { ProcessBatch } from '../services/preprocessor/src/domain/process-batch.ts';

const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const SECTIONS = new Set(
  onlyAt >= 0 ? process.argv[onlyAt + 1]!.split(',') : ['throughput', 'series', 'latency'],
);
const SIZES = quick ? [10_000, 50_000] : [10_000, 100_000, 1_000_000];
const BASE_ROWS = quick ? 100_000 : 1_000_000;
const SERIES_BATCHES = quick ? 10 : 50;
const SERIES_ROWS = quick ? 5_000 : 20_000;
const SERIES_UPDATES = SERIES_ROWS / 100;
const LATENCY_BATCHES = 20;
const LATENCY_ROWS = 2_000;

const require = createRequire(import.meta.url);
const FLIGHTS = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'flights-3m.parquet');
const MIGRATIONS = new URL('../services/preprocessor/migrations/', import.meta.url);

const out = (line = '') => process.stdout.write(`${line}\n`);
const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** A raw batch in the store as the ingestor lays it out: the slice of flights as one Parquet table. */
async function rawBatch(
  duck: DuckDBConnection,
  storeDir: string,
  dataset: string,
  batchId: string,
  select: string,
): Promise<BatchIngested> {
  const key = `raw/${dataset}/${batchId}/flights.parquet`;
  const file = path.join(storeDir, ...key.split('/'));
  await fs.mkdir(path.dirname(file), { recursive: true });
  await duck.run(`COPY (${select}) TO ${lit(file)} (FORMAT parquet)`);
  const bytes = await fs.readFile(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const md5 = createHash('md5').update(bytes).digest('hex');
  const dir = buildDirObject([{ relpath: 'flights.parquet', md5, size: bytes.length }]);
  const store = createObjectStore(storeDir);
  return {
    event_id: newEventId(),
    occurred_at: Date.now(),
    ready_at: null,
    run_id: createHash('md5').update(batchId).digest('hex'),
    dataset,
    batch_id: batchId,
    producer: 'bench',
    contract: { name: 'flights', version: '1.0.0' },
    content_hash: createHash('sha256').update(`flights.parquet\u0000${sha256}\n`).digest('hex'),
    raw_location: objectUri(store, `raw/${dataset}/${batchId}`),
    raw_md5: dir.md5,
    raw_dvc_file: objectUri(store, `raw/${dataset}/${batchId}.dvc`),
    files: [
      { path: 'flights.parquet', role: 'TABLE', sha256, md5, size_bytes: bytes.length, schema_version: null },
    ],
  };
}

/** Rows [from, from + n) of flights-3m with ids from + 1 ...; `bump` changes delay (a correction). */
function slice(from: number, n: number, bump = 0): string {
  return `SELECT (row_number() OVER () + ${from})::BIGINT AS id, date, delay + ${bump} AS delay, distance, origin, destination
            FROM (SELECT * FROM read_parquet(${lit(FLIGHTS)}) LIMIT ${n} OFFSET ${from % 2_000_000})`;
}

/**
 * The seed's merge: read master.parquet, put the batch's rows in (newest wins on the key), write
 * the whole master.parquet again and hash it for DVC. Same engine, same Parquet settings.
 */
class SeedBaseline {
  private version = 0;
  private readonly duck: DuckDBConnection;
  private readonly dir: string;
  constructor(duck: DuckDBConnection, dir: string) {
    this.duck = duck;
    this.dir = dir;
  }

  private file(v: number) {
    return path.join(this.dir, `master-${v}.parquet`);
  }

  async merge(batchFile: string): Promise<number> {
    const started = performance.now();
    const next = this.file(this.version + 1);
    const batch = `read_parquet(${lit(batchFile)})`;
    const union =
      this.version === 0
        ? `SELECT * FROM ${batch}`
        : `SELECT * FROM read_parquet(${lit(this.file(this.version))}) m
             WHERE NOT EXISTS (SELECT 1 FROM ${batch} b WHERE b.id = m.id)
           UNION ALL SELECT * FROM ${batch}`;
    await this.duck.run(
      `COPY (${union} ORDER BY id) TO ${lit(next)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
    );
    await hashFile(next); // `dvc add master.parquet` hashes every byte again
    if (this.version > 0) await fs.rm(this.file(this.version));
    this.version += 1;
    return performance.now() - started;
  }
}

interface Harness {
  processBatch: ProcessBatch;
  pool: Pool;
  close: () => Promise<void>;
}

async function harness(storeDir: string): Promise<Harness> {
  const schema = uniqueName('bench_pre');
  await migrate({ url: stackEnv.DATABASE_URL, schema, dirs: [outboxMigrations, MIGRATIONS] });
  const pool = createPool({ url: stackEnv.DATABASE_URL, schema });
  const config = loadServiceConfig(
    serviceEnv({ DATA_STORE_URI: storeDir, DATABASE_SCHEMA: schema, LOG_LEVEL: 'silent', HTTP_PORT: '0' }),
  );
  // The benchmark has no running catalog: it reads the repository's contract files.
  const { processBatch, close } = await createProcessBatch(config, {
    pool,
    topicPrefix: `${schema}.`,
    contract: (name, version) => loadContract(fileURLToPath(defaultContractsDir), name, version),
  });
  return {
    processBatch,
    pool,
    close: async () => {
      await close();
      await pool.query(`DROP SCHEMA ${schema} CASCADE`);
      await pool.end();
    },
  };
}

/** Runs one batch through validate + merge; returns total and merge (lock to commit) times. */
async function timed(h: Harness, event: BatchIngested): Promise<{ totalMs: number; mergeMs: number }> {
  const started = performance.now();
  const outcome = await h.processBatch.execute(event, {
    runId: event.run_id,
    signal: new AbortController().signal,
  });
  const totalMs = performance.now() - started;
  if (outcome.kind !== 'merged')
    throw new Error(`batch ${event.batch_id} was not merged: ${JSON.stringify(outcome)}`);
  const { rows } = await h.pool.query<{ ms: number }>(
    `SELECT extract(epoch FROM committed_at - merge_started_at)::float * 1000 AS ms
       FROM master_versions WHERE dataset = $1 AND version = $2`,
    [event.dataset, outcome.version],
  );
  return { totalMs, mergeMs: rows[0]!.ms };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function throughput(duck: DuckDBConnection, storeDir: string, work: string): Promise<void> {
  out(`## 1. validate + merge throughput (master preloaded with ${fmt(BASE_ROWS)} rows)`);
  const h = await harness(storeDir);
  const seed = new SeedBaseline(duck, await fs.mkdtemp(path.join(work, 'seed-')));
  try {
    const base = await rawBatch(duck, storeDir, 'flights', 'base', slice(0, BASE_ROWS));
    await timed(h, base);
    await seed.merge(path.join(storeDir, 'raw/flights/base/flights.parquet'));
    out(
      '| batch rows | ours: total | ours: rows/s | of which merge | seed: total | seed: rows/s | ours faster by |',
    );
    out('|---:|---:|---:|---:|---:|---:|---:|');
    let offset = BASE_ROWS;
    for (const n of SIZES) {
      const event = await rawBatch(duck, storeDir, 'flights', `size-${n}`, slice(offset, n));
      offset += n;
      const ours = await timed(h, event);
      // The seed validates the same way; only its merge differs: reuse our validation time.
      const validationMs = ours.totalMs - ours.mergeMs;
      const seedMs =
        validationMs + (await seed.merge(path.join(storeDir, `raw/flights/size-${n}/flights.parquet`)));
      out(
        `| ${fmt(n)} | ${secs(ours.totalMs)} | ${fmt((n / ours.totalMs) * 1000)} | ${secs(ours.mergeMs)} | ${secs(seedMs)} | ${fmt((n / seedMs) * 1000)} | ${(seedMs / ours.totalMs).toFixed(2)}x |`,
      );
    }
  } finally {
    await h.close();
  }
  out();
}

async function series(duck: DuckDBConnection, storeDir: string, work: string): Promise<void> {
  out(
    `## 2. merge time as the master grows: ${SERIES_BATCHES} batches of ${fmt(SERIES_ROWS)} rows (${fmt(SERIES_UPDATES)} of them corrections of the previous batch)`,
  );
  const h = await harness(storeDir);
  const seed = new SeedBaseline(duck, await fs.mkdtemp(path.join(work, 'seed-')));
  const ours: number[] = [];
  const seedTimes: number[] = [];
  try {
    for (let i = 0; i < SERIES_BATCHES; i++) {
      const from = i * SERIES_ROWS;
      const select =
        i === 0
          ? slice(from, SERIES_ROWS)
          : `${slice(from, SERIES_ROWS - SERIES_UPDATES)} UNION ALL (${slice(from - 2 * SERIES_UPDATES, SERIES_UPDATES, 1)})`;
      const event = await rawBatch(duck, storeDir, 'series', `series-${i + 1}`, select);
      ours.push((await timed(h, event)).mergeMs);
      seedTimes.push(await seed.merge(path.join(storeDir, `raw/series/series-${i + 1}/flights.parquet`)));
    }
    const { rows } = await h.pool.query<{ row_count: number; parts: number }>(
      `SELECT c.row_count, (SELECT count(*)::int FROM master_files f WHERE f.dataset = c.dataset AND f.kind = 'part' AND f.removed_in IS NULL) AS parts
         FROM current_master_rows c WHERE c.dataset = 'series'`,
    );
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    out('| | batch 1 | batch ' + SERIES_BATCHES + ' | mean | max |');
    out('|---|---:|---:|---:|---:|');
    out(
      `| ours (lock to commit) | ${secs(ours[0]!)} | ${secs(ours.at(-1)!)} | ${secs(mean(ours))} | ${secs(Math.max(...ours))} |`,
    );
    out(
      `| seed (rewrite master.parquet) | ${secs(seedTimes[0]!)} | ${secs(seedTimes.at(-1)!)} | ${secs(mean(seedTimes))} | ${secs(Math.max(...seedTimes))} |`,
    );
    out(
      `| seed / ours | ${(seedTimes[0]! / ours[0]!).toFixed(2)}x | ${(seedTimes.at(-1)! / ours.at(-1)!).toFixed(2)}x | ${(mean(seedTimes) / mean(ours)).toFixed(2)}x | |`,
    );
    out(
      `final master: ${fmt(rows[0]!.row_count)} rows in ${rows[0]!.parts} parts; growth batch 1 → ${SERIES_BATCHES}: ours ${(ours.at(-1)! / ours[0]!).toFixed(2)}x, seed ${(seedTimes.at(-1)! / seedTimes[0]!).toFixed(2)}x`,
    );
  } finally {
    await h.close();
  }
  out();
}

async function latency(duck: DuckDBConnection, storeDir: string): Promise<void> {
  out(
    `## 3. batch.ingested → master.versioned through Kafka: ${LATENCY_BATCHES} batches of ${fmt(LATENCY_ROWS)} rows, one at a time`,
  );
  const env = serviceEnv(
    isolatedServiceEnv('preprocessor', {
      DATA_STORE_URI: storeDir,
      LOG_LEVEL: 'silent',
    }),
  );
  const prefix = env.TOPIC_PREFIX!;
  const app = await buildApp(loadServiceConfig(env));
  await app.start();
  const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });
  const kafka = createKafka({
    clientId: 'bench',
    brokers: stackEnv.KAFKA_BROKERS.split(','),
    logger: createLogger({ serviceName: 'bench', level: 'silent' }),
  });
  const producer = new EventProducer(kafka, registry, prefix);
  await producer.connect();
  const arrived = new Map<string, number>();
  const consumer = testKafka().consumer({ groupId: uniqueName('bench') });
  await consumer.connect();
  await consumer.subscribe({ topic: `${prefix}${masterVersioned.topic}`, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const v = await registry.decode(prefixEvent(masterVersioned, prefix), message.value!);
      arrived.set(v.batch_ids[0]!, performance.now());
    },
  });
  const samples: number[] = [];
  try {
    for (let i = 0; i < LATENCY_BATCHES; i++) {
      const event = await rawBatch(
        duck,
        storeDir,
        'latency',
        `lat-${i + 1}`,
        slice(i * LATENCY_ROWS, LATENCY_ROWS),
      );
      const sent = performance.now();
      await producer.publish(batchIngested, event);
      const deadline = Date.now() + 60_000;
      while (!arrived.has(event.batch_id)) {
        if (Date.now() > deadline) throw new Error(`no master.versioned for ${event.batch_id}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      samples.push(arrived.get(event.batch_id)! - sent);
    }
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await app.stop();
    await app.runtime.pool.end().catch(() => undefined);
  }
  out(
    `p50 ${fmt(percentile(samples, 50))} ms, p99 ${fmt(percentile(samples, 99))} ms, min ${fmt(Math.min(...samples))} ms (n=${samples.length})`,
  );
  out();
}

const work = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-bench-'));
const storeDir = path.join(work, 'store');
const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const duck = await db.connect();
try {
  out(`# preprocessor merge benchmark (${quick ? 'quick' : 'full'}; ${os.cpus().length} cores)`);
  out();
  if (SECTIONS.has('throughput')) await throughput(duck, storeDir, work);
  if (SECTIONS.has('series')) await series(duck, storeDir, work);
  if (SECTIONS.has('latency')) await latency(duck, storeDir);
} finally {
  duck.closeSync();
  db.closeSync();
  await fs.rm(work, { recursive: true, force: true });
}
