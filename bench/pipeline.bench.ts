// End-to-end benchmark: `tributary submit --wait --until merged` of CSV batches through a running
// ingestor and preprocessor (separate processes, as deployed), with the stage breakdown, peak RSS of
// each process and the physical reference (DuckDB alone reading the same CSV and writing Parquet).
// Needs the local stack (scripts/stack.sh up).
//
//   node bench/pipeline.bench.ts                          10k, 100k, 1M rows; flights and wide
//   node bench/pipeline.bench.ts --sizes 1000000 --tables wide --runs 1
//
// See bench/README.md for what each figure means.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { createPool } from '@tributary/db';
import {
  freePort,
  runTributary,
  serviceEnv,
  stackEnv,
  startTsProcess,
  tsNodeArgs,
  uniqueName,
  waitForServing,
  type RunningProcess,
} from '@tributary/testing';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const SIZES = arg('sizes', '10000,100000,1000000').split(',').map(Number);
const TABLES = arg('tables', 'flights,wide').split(',') as ('flights' | 'wide')[];
/** Runs per size: p50 of them. The 1M batches get at most 3 (CPU is shared). */
const RUNS = Number(arg('runs', '5'));
const WIDE_NUMBERS = 31; // + the id: 32 numeric columns

const require = createRequire(import.meta.url);
const FLIGHTS = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'flights-3m.parquet');
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(ROOT, 'cli/src/main.ts');

const out = (line = '') => process.stdout.write(`${line}\n`);
const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
const secs = (ms: number) => (ms / 1000).toFixed(2);
const mb = (kb: number) => `${Math.round(kb / 1024)} MB`;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const WIDE_CONTRACT = `name: wide
version: 1.0.0
description: Benchmark table, an id and ${WIDE_NUMBERS} measurements.
primary_key: [id]
on_bad_rows: quarantine
columns:
  - { name: id, type: integer, min: 1 }
${Array.from({ length: WIDE_NUMBERS }, (_, i) => `  - { name: m${i + 1}, type: number, min: -1000000, max: 1000000 }`).join('\n')}
`;

/** Rows [from, from + n) of the table as CSV at `file`; ids from + 1 ... */
async function writeCsv(
  duck: DuckDBConnection,
  table: 'flights' | 'wide',
  from: number,
  n: number,
  file: string,
) {
  const select =
    table === 'flights'
      ? `SELECT (row_number() OVER () + ${from})::BIGINT AS id, strftime(date, '%Y-%m-%dT%H:%M:%S') AS date, delay, distance, origin, destination
           FROM (SELECT * FROM read_parquet(${lit(FLIGHTS)}) LIMIT ${n} OFFSET ${from % 2_000_000})`
      : `SELECT i + 1 AS id, ${Array.from(
          { length: WIDE_NUMBERS },
          (_, k) => `((hash(i * ${WIDE_NUMBERS} + ${k}) % 200000)::BIGINT - 100000) / 100 AS m${k + 1}`,
        ).join(', ')} FROM range(${from}, ${from + n}) t(i)`;
  await fs.mkdir(path.dirname(file), { recursive: true });
  await duck.run(`COPY (${select}) TO ${lit(file)} (FORMAT csv, HEADER true)`);
}

/** Peak resident set of a process while `until` runs, sampled from /proc every 25 ms (kB). */
function rssSampler(pid: () => number | undefined) {
  let peak = 0;
  const timer = setInterval(() => {
    const p = pid();
    if (p === undefined) return;
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      // exited
    }
  }, 25);
  return { stop: () => (clearInterval(timer), peak) };
}

interface Stages {
  totalMs: number;
  clientMs: number;
  ingestMs: number;
  validateMs: number;
  mergeMs: number;
  rss: { cli: number; ingestor: number; preprocessor: number };
}

interface Deployment {
  ingestorUrl: string;
  ingestor: RunningProcess;
  preprocessor: RunningProcess;
  env: Record<string, string>;
  ingestorDb: ReturnType<typeof createPool>;
  preprocessorDb: ReturnType<typeof createPool>;
  stop(): Promise<void>;
}

async function deploy(work: string): Promise<Deployment> {
  const id = uniqueName('bench');
  const contracts = path.join(work, 'contracts');
  await fs.cp(path.join(ROOT, 'contracts'), contracts, { recursive: true });
  await fs.mkdir(path.join(contracts, 'wide'), { recursive: true });
  await fs.writeFile(path.join(contracts, 'wide/1.0.0.yaml'), WIDE_CONTRACT);
  const ports = { ingestor: await freePort(), preprocessor: await freePort() };
  const adminToken = 'bench-admin-token-0123456789';
  const common = {
    TOPIC_PREFIX: `${id}.`,
    CATALOG_SCHEMA: `${id}_catalog`,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'warn',
    DATA_STORE_URI: path.join(work, 'store'),
    CONTRACTS_DIR: contracts,
    WORK_DIR: path.join(work, 'scratch'),
    ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
  };
  await fs.mkdir(common.WORK_DIR, { recursive: true });
  const start = (service: 'ingestor' | 'preprocessor') =>
    startTsProcess(
      path.join(ROOT, `services/${service}/src/main.ts`),
      serviceEnv({
        ...common,
        SERVICE_NAME: service,
        DATABASE_SCHEMA: `${id}_${service}`,
        HTTP_PORT: String(ports[service]),
      }),
    );
  const ingestor = start('ingestor');
  const preprocessor = start('preprocessor');
  const stopAll = async () => {
    for (const p of [ingestor, preprocessor]) p.child.kill('SIGTERM');
    await Promise.all([ingestor.exited, preprocessor.exited]);
  };
  try {
    await waitForServing(ingestor, ports.ingestor, { path: '/readyz', timeoutMs: 120_000, what: 'ingestor' });
    await waitForServing(preprocessor, ports.preprocessor, {
      path: '/readyz',
      timeoutMs: 120_000,
      what: 'preprocessor',
    });
  } catch (err) {
    await stopAll();
    throw err;
  }
  const ingestorUrl = `http://127.0.0.1:${ports.ingestor}`;
  const datasets = path.join(work, 'datasets');
  await fs.mkdir(datasets, { recursive: true });
  for (const name of ['flights', 'wide']) {
    await fs.writeFile(
      path.join(datasets, `${name}.yaml`),
      `apiVersion: tributary/v1\nkind: Dataset\nname: ${name}\nowners: [bench]\ncontract: { name: ${name}, versions: ['1.0.0'], current: '1.0.0' }\n`,
    );
  }
  const applied = await runTributary(
    ['datasets', 'apply', datasets, '--contracts', contracts, '--url', ingestorUrl, '--actor', 'bench'],
    { TRIBUTARY_ADMIN_TOKEN: adminToken },
  );
  if (applied.code !== 0) throw new Error(`datasets apply failed: ${applied.stdout}${applied.stderr}`);
  const ingestorDb = createPool({ url: stackEnv.DATABASE_URL, schema: `${id}_ingestor` });
  const preprocessorDb = createPool({ url: stackEnv.DATABASE_URL, schema: `${id}_preprocessor` });
  return {
    ingestorUrl,
    ingestor,
    preprocessor,
    env: common,
    ingestorDb,
    preprocessorDb,
    stop: async () => {
      await stopAll();
      for (const pool of [ingestorDb, preprocessorDb]) {
        await pool.query(
          `DROP SCHEMA IF EXISTS ${pool === ingestorDb ? `${id}_ingestor` : `${id}_preprocessor`} CASCADE`,
        );
        await pool.end();
      }
    },
  };
}

/** One `tributary submit --wait --until merged` of `dir`, with the stage breakdown from the services' records. */
async function submitOnce(d: Deployment, dataset: string, dir: string, batchId: string): Promise<Stages> {
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [
      ...tsNodeArgs(CLI),
      'submit',
      dir,
      '--dataset',
      dataset,
      '--batch-id',
      batchId,
      '--wait',
      '--until',
      'merged',
      '--json',
    ],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        TRIBUTARY_INGESTOR_URL: d.ingestorUrl,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  const samplers = {
    cli: rssSampler(() => child.pid),
    ingestor: rssSampler(() => d.ingestor.child.pid),
    preprocessor: rssSampler(() => d.preprocessor.child.pid),
  };
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const totalMs = Date.now() - started;
  const rss = {
    cli: samplers.cli.stop(),
    ingestor: samplers.ingestor.stop(),
    preprocessor: samplers.preprocessor.stop(),
  };
  if (code !== 0) throw new Error(`submit ${batchId} exited ${code}: ${output.slice(-2000)}`);
  const ing = await d.ingestorDb.query<{ submitted: Date; ingested: Date }>(
    `SELECT a.submitted_at AS submitted, b.ingested_at AS ingested
       FROM batch_attempts a JOIN batches b ON b.id = a.batch_id WHERE a.batch_id = $1`,
    [batchId],
  );
  const pre = await d.preprocessorDb.query<{ started: Date; committed: Date }>(
    `SELECT merge_started_at AS started, committed_at AS committed FROM master_versions
      WHERE dataset = $1 AND $2 = ANY (batch_ids)`,
    [dataset, batchId],
  );
  const i = ing.rows[0]!;
  const p = pre.rows[0]!;
  return {
    totalMs,
    clientMs: i.submitted.getTime() - started,
    ingestMs: i.ingested.getTime() - i.submitted.getTime(),
    validateMs: p.started.getTime() - i.ingested.getTime(),
    mergeMs: p.committed.getTime() - p.started.getTime(),
    rss,
  };
}

/** DuckDB alone: the same CSV read and written as Parquet, with the services' thread count. */
async function physicalReference(csv: string, work: string): Promise<number> {
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await db.connect();
  const target = path.join(work, 'reference.parquet');
  const started = performance.now();
  await conn.run(
    `COPY (SELECT * FROM read_csv(${lit(csv)})) TO ${lit(target)} (FORMAT parquet, COMPRESSION zstd)`,
  );
  const ms = performance.now() - started;
  conn.closeSync();
  db.closeSync();
  await fs.rm(target);
  return ms;
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

const work = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-pipeline-bench-'));
const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const duck = await db.connect();
let deployment: Deployment | undefined;
try {
  deployment = await deploy(work);
  out(`# pipeline benchmark: tributary submit --wait --until merged, CSV (${os.cpus().length} cores)`);
  out();
  out(
    '| table | rows | CSV MB | runs | total s | client hash+upload | ingest | validate | merge | rows/s validate+merge | DuckDB CSV→Parquet s | multiple | peak RSS CLI | ingestor | preprocessor |',
  );
  out('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  let offset = 0;
  for (const table of TABLES) {
    for (const n of SIZES) {
      const runs = n >= 1_000_000 ? Math.min(RUNS, 3) : RUNS;
      const results: Stages[] = [];
      let refMs = 0;
      let bytes = 0;
      for (let r = 0; r < runs; r++) {
        const dir = path.join(work, 'batches', `${table}-${n}-${r}`);
        const csv = path.join(dir, `${table}.csv`);
        await writeCsv(duck, table, offset, n, csv);
        offset += n;
        bytes = (await fs.stat(csv)).size;
        if (r === 0) refMs = await physicalReference(csv, work);
        results.push(
          await submitOnce(deployment, table, dir, uniqueName(`${table}-${n}`).replaceAll('_', '-')),
        );
        await fs.rm(dir, { recursive: true });
      }
      const m = (f: (s: Stages) => number) => p50(results.map(f));
      const total = m((s) => s.totalMs);
      const vm = m((s) => s.validateMs + s.mergeMs);
      out(
        `| ${table} | ${fmt(n)} | ${(bytes / 1e6).toFixed(1)} | ${runs} | ${secs(total)} | ${secs(m((s) => s.clientMs))} | ${secs(m((s) => s.ingestMs))} | ${secs(m((s) => s.validateMs))} | ${secs(m((s) => s.mergeMs))} | ${fmt((n / vm) * 1000)} | ${secs(refMs)} | ${(total / refMs).toFixed(1)}x | ${mb(m((s) => s.rss.cli))} | ${mb(m((s) => s.rss.ingestor))} | ${mb(m((s) => s.rss.preprocessor))} |`,
      );
    }
  }
  out();
  out(
    'Stages from the services’ records: client = CLI start → upload accepted; ingest → `batches.ingested_at`; validate = ingested → merge lock taken (includes Kafka delivery); merge = lock → commit. p50 over the runs; peak RSS sampled every 25 ms.',
  );
} finally {
  await deployment?.stop();
  duck.closeSync();
  db.closeSync();
  await fs.rm(work, { recursive: true, force: true });
}
