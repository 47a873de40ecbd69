// The nightly refresh at scale: ingest + sample + augment + gate of one wide Parquet source by the
// embedded DuckDB engine (10M rows x 20 columns by default), next to the code before the engines
// (every row a JavaScript object) on the largest sources it handles, the Ray engine on the local
// one-node cluster, and a physical reference (DuckDB alone scanning the file and writing a 50%
// sample). Each engine runs in a child process of its own, so its peak RSS is its own.
//
//   node bench/refresh.bench.ts                                   # all, about 6 minutes on 2 cores
//   node bench/refresh.bench.ts --rows 10000000 --legacy 300000,1000000 --ray 1000000
//   node bench/refresh.bench.ts --skip-ray                        # without the cluster
//
// The Ray engine needs the stack's S3 and `scripts/stack.sh up ray`; its source is uploaded to S3
// (the stack's moto server keeps objects in memory: --ray stays at a million rows by default).
import { execFile, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import type { EngineContext, EngineRun, ToxicityScorer } from '../services/quality-gate/src/domain/ports.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const out = (line = '') => process.stdout.write(`${line}\n`);
const ROWS = Number(arg('rows', '10000000'));
const LEGACY = arg('legacy', '300000,1000000').split(',').filter(Boolean).map(Number);
const RAY_ROWS = Number(arg('ray', '1000000'));
const SKIP_RAY = process.argv.includes('--skip-ray');
/** The code before the engines: the commit the embedded engine replaced. */
const BASELINE_REF = arg('baseline', '2fe67fc');
const CACHE = path.join(os.tmpdir(), 'tributary-bench');
const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const MEMORY_LIMIT = arg('memory-limit', '512MB');

const WORDS = [
  'river',
  'stone',
  'quiet',
  'bright',
  'falls',
  'over',
  'morning',
  'green',
  'light',
  'delta',
  'north',
  'cloud',
  'amber',
  'field',
  'winter',
  'harbor',
];

/** 20 columns: id, label (10 strata), text (3 words + item), 8 doubles, 5 categories, 4 integers. */
async function source(rows: number): Promise<string> {
  await fs.mkdir(CACHE, { recursive: true });
  const file = path.join(CACHE, `refresh-${rows}.parquet`);
  if (existsSync(file)) return file;
  const words = `[${WORDS.map((w) => `'${w}'`).join(',')}]`;
  const word = (k: number) => `list_extract(${words}, (hash(i*${k}) % 16 + 1)::INT)`;
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '1GB' });
  const conn = await instance.connect();
  await conn.run(`COPY (
    SELECT i AS id, 'l' || (hash(i) % 10) AS label,
      ${word(7)} || ' ' || ${word(11)} || ' ' || ${word(13)} || ' item' || (i % 100000) AS text,
      (hash(i*3) % 1000) / 10.0 AS num_1, (hash(i*5) % 1000) / 7.0 AS num_2, (hash(i*17) % 997)::DOUBLE AS num_3,
      (hash(i*19) % 991) / 3.0 AS num_4, (hash(i*23) % 983)::DOUBLE AS num_5, (hash(i*29) % 977)::DOUBLE AS num_6,
      (hash(i*31) % 971)::DOUBLE AS num_7, (hash(i*37) % 967)::DOUBLE AS num_8,
      'c' || (hash(i*41) % 5) AS cat_1, 'c' || (hash(i*43) % 7) AS cat_2, 'c' || (hash(i*47) % 11) AS cat_3,
      'c' || (hash(i*53) % 13) AS cat_4, 'c' || (hash(i*59) % 17) AS cat_5,
      (hash(i*61) % 100000)::BIGINT AS int_1, (hash(i*67) % 1000)::BIGINT AS int_2, (hash(i*71) % 10)::BIGINT AS int_3,
      i * 2 AS int_4
    FROM range(${rows}) t(i)) TO '${file}.tmp' (FORMAT parquet, COMPRESSION zstd)`);
  conn.closeSync();
  instance.closeSync();
  await fs.rename(`${file}.tmp`, file);
  return file;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The baseline every engine is measured against (slices, PSI of a category, KS of a number). */
function baseline() {
  return {
    name: 'bench',
    required_slices: Array.from({ length: 10 }, (_, i) => `l${i}`),
    metrics: { diversity: 0.01, toxicity: 0 },
    columns: {
      cat_1: { type: 'categorical' as const, frequencies: { c0: 1, c1: 1, c2: 1, c3: 1, c4: 1 } },
      num_1: { type: 'numeric' as const, values: Array.from({ length: 1000 }, (_, i) => i / 10) },
    },
  };
}
const thresholds = { minCoverage: 1, minDiversity: 0.0001, maxToxicity: 0.01, maxPsi: 0.2, maxKs: 0.2 };
const SEED = 42;
const FRACTION = 0.5;

/** After ingest, what every engine's run does: the candidate, then the gate (times into `seconds`). */
async function sampleAndGate(
  run: EngineRun,
  ctx: EngineContext,
  toxicity: ToxicityScorer,
  seconds: Record<string, number>,
  generateFrom: number,
): Promise<{ candidateRows: number; passed: boolean }> {
  const written = await run.generate(
    {
      stratifyColumn: 'label',
      fraction: FRACTION,
      seed: SEED,
      textColumn: 'text',
      textDropout: 0.1,
      augmentations: [],
    },
    { prefix: 'candidates/bench/', tags: {} },
    ctx,
  );
  seconds.generate = (performance.now() - generateFrom) / 1000;
  const gateFrom = performance.now();
  const gate = await run.measure(
    baseline(),
    { stratifyColumn: 'label', textColumn: 'text', thresholds },
    toxicity,
  );
  seconds.gate = (performance.now() - gateFrom) / 1000;
  return { candidateRows: written.rows, passed: gate.metrics.every((m) => m.pass) };
}

interface Figures {
  engine: string;
  rows: number;
  candidateRows: number;
  passed: boolean;
  seconds: Record<string, number>;
  peakRssMb: number;
  note?: string;
}

// ---------------------------------------------------------------------------------------------
// Children: one engine each, answering its figures as the last line of stdout.

async function childDuckdb(file: string, checksum: string, rows: number): Promise<Figures> {
  const { DuckDbEngine } = await import('../services/quality-gate/src/data-access/duckdb-engine.ts');
  const { wordListToxicity } = await import('../services/quality-gate/src/data-access/toxicity.ts');
  const { createObjectStore } = await import('@tributary/storage');
  const out = await fs.mkdtemp(path.join(CACHE, 'out-'));
  const engine = new DuckDbEngine({
    s3: {},
    store: createObjectStore(pathToFileURL(out).href),
    scratchDir: path.join(CACHE, 'scratch'),
    memoryLimit: MEMORY_LIMIT,
    threads: 2,
    batchRows: 10_000,
    toxicityMaxTexts: 200_000,
  });
  const seconds: Record<string, number> = {};
  const t = () => performance.now();
  const ctx = {
    log: () => undefined,
    runId: 'bench',
    traceparent: undefined,
    signal: new AbortController().signal,
  };
  const t0 = t();
  const run = await engine.open(`bench-${randomUUID().slice(0, 8)}`);
  try {
    await run.ingest({ kind: 'file', name: 'bench', uri: pathToFileURL(file).href, sha256: checksum }, ctx);
    seconds.ingest = (t() - t0) / 1000;
    const outcome = await sampleAndGate(run, ctx, wordListToxicity(), seconds, t());
    seconds.total = (t() - t0) / 1000;
    return {
      engine: 'duckdb',
      rows,
      ...outcome,
      seconds,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    await run.close();
    await fs.rm(out, { recursive: true, force: true });
  }
}

type Row = Record<string, unknown>;
type Random = () => number;

/** The code before the engines, from the baseline commit: every row a JavaScript object. */
async function childLegacy(dir: string, file: string, rows: number): Promise<Figures> {
  const src = path.join(dir, 'services/quality-gate/src');
  const load = <T>(rel: string) => import(pathToFileURL(path.join(src, rel)).href) as Promise<T>;
  const { StoreSourceReader } = await load<{
    StoreSourceReader: new (s3: object) => { read: (uri: string) => Promise<{ rows: Row[] }> };
  }>('data-access/source-reader.ts');
  const stats = await load<{
    seededRandom: (seed: number) => Random;
    stratifiedSample: (rows: Row[], column: string, fraction: number, random: Random) => Row[];
  }>('domain/stats.ts');
  const { wordDropout } = await load<{
    wordDropout: (column: string, rate: number) => { apply: (rows: Row[], random: Random) => Promise<Row[]> };
  }>('domain/augmentation.ts');
  const { evaluate } = await load<{
    evaluate: (
      rows: Row[],
      baseline: unknown,
      settings: unknown,
      toxicity: unknown,
    ) => { metrics: { pass: boolean }[] };
  }>('domain/refresh-dataset.ts');
  const { wordListToxicity } = await load<{ wordListToxicity: () => unknown }>('data-access/toxicity.ts');
  const seconds: Record<string, number> = {};
  const t = () => performance.now();
  const t0 = t();
  const read = await new StoreSourceReader({}).read(pathToFileURL(file).href);
  seconds.ingest = (t() - t0) / 1000;
  const t1 = t();
  const random = stats.seededRandom(SEED);
  let sample = stats.stratifiedSample(read.rows, 'label', FRACTION, random);
  sample = await wordDropout('text', 0.1).apply(sample, random);
  const body = sample.map((r) => JSON.stringify(r)).join('\n') + '\n';
  createHash('sha256').update(body).digest('hex');
  seconds.generate = (t() - t1) / 1000;
  const t2 = t();
  const gate = evaluate(
    sample,
    baseline(),
    { stratifyColumn: 'label', textColumn: 'text', thresholds },
    wordListToxicity(),
  );
  seconds.gate = (t() - t2) / 1000;
  seconds.total = (t() - t0) / 1000;
  return {
    engine: 'before (JS objects)',
    rows,
    candidateRows: sample.length,
    passed: gate.metrics.every((m) => m.pass),
    seconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

async function childRay(file: string, rows: number): Promise<Figures> {
  const { DuckDbEngine } = await import('../services/quality-gate/src/data-access/duckdb-engine.ts');
  const { RayEngine } = await import('../services/quality-gate/src/data-access/ray-engine.ts');
  const { wordListToxicity } = await import('../services/quality-gate/src/data-access/toxicity.ts');
  const { createObjectStore, createS3Client } = await import('@tributary/storage');
  const { stackEnv, stackS3 } = await import('@tributary/testing');
  const { CreateBucketCommand, DeleteBucketCommand } = await import('@aws-sdk/client-s3');
  const bucket = `tributary-bench-${randomUUID().slice(0, 8)}`;
  const bucketStore = createObjectStore(`s3://${bucket}`, stackS3);
  await createS3Client(stackS3).send(new CreateBucketCommand({ Bucket: bucket }));
  const seconds: Record<string, number> = {};
  const lines: string[] = [];
  try {
    const t = () => performance.now();
    await bucketStore.putFile('sources/bench.parquet', file);
    const store = createObjectStore(`s3://${bucket}/store`, stackS3);
    const embedded = new DuckDbEngine({
      s3: stackS3,
      store,
      scratchDir: path.join(CACHE, 'scratch'),
      memoryLimit: MEMORY_LIMIT,
      threads: 2,
      batchRows: 10_000,
      toxicityMaxTexts: 200_000,
    });
    const engine = new RayEngine({
      address: process.env.RAY_ADDRESS ?? 'http://127.0.0.1:8265',
      store,
      s3: { endpoint_url: stackEnv.S3_ENDPOINT, region: 'us-east-1' },
      embedded,
      python: process.env.RAY_JOB_PYTHON ?? path.join(os.homedir(), '.cache/tributary/ray-venv/bin/python'),
      pollMs: 100,
    });
    const ctx = {
      log: (l: string) => lines.push(l),
      runId: 'bench',
      traceparent: undefined,
      signal: AbortSignal.timeout(1_800_000),
    };
    const t0 = t();
    const run = await engine.open(`bench-${randomUUID().slice(0, 8)}`);
    try {
      await run.ingest(
        {
          kind: 'file',
          name: 'bench',
          uri: `s3://${bucket}/sources/bench.parquet`,
          sha256: await sha256(file),
        },
        ctx,
      );
      // The Ray job ingests as it samples: its generate time counts from the start.
      const outcome = await sampleAndGate(run, ctx, wordListToxicity(), seconds, t0);
      seconds.total = (t() - t0) / 1000;
      const summary = lines.find((l) => l.includes('submit to running')) ?? '';
      seconds.submit_to_running = Number(/submit to running ([\d.]+) s/.exec(summary)?.[1] ?? NaN);
      seconds.job_wall = Number(/wall ([\d.]+) s/.exec(summary)?.[1] ?? NaN);
      return {
        engine: 'ray (1 CPU)',
        rows,
        ...outcome,
        seconds,
        peakRssMb: process.resourceUsage().maxRSS / 1024,
        note: 'quality-gate side only; the cluster processes are not counted',
      };
    } finally {
      await run.close();
    }
  } finally {
    const keys: string[] = [];
    for await (const o of bucketStore.list()) keys.push(o.key);
    if (keys.length > 0) await bucketStore.delete(keys);
    await createS3Client(stackS3).send(new DeleteBucketCommand({ Bucket: bucket }));
  }
}

// ---------------------------------------------------------------------------------------------
// Orchestrator.

function child(args: string[], maxOldSpaceMb?: number): Promise<Figures | { error: string }> {
  return new Promise((resolve) => {
    const flags = maxOldSpaceMb ? [`--max-old-space-size=${maxOldSpaceMb}`] : [];
    const p = spawn(process.execPath, [...flags, fileURLToPath(import.meta.url), '--child', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as Figures);
      } catch {
        resolve({
          error: `exit ${code ?? signal}: ${err.trim().split('\n').slice(-3).join(' ').slice(0, 300)}`,
        });
      }
    });
  });
}

/** DuckDB alone: scan the file and write a 50% sample as Parquet (2 threads), plus hashing its bytes. */
async function reference(file: string): Promise<number> {
  const t0 = performance.now();
  await sha256(file);
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: MEMORY_LIMIT });
  const conn = await instance.connect();
  const out = path.join(CACHE, 'reference.parquet');
  await conn.run(
    `COPY (SELECT * FROM read_parquet('${file}') USING SAMPLE 50 PERCENT (bernoulli, 42)) TO '${out}' (FORMAT parquet)`,
  );
  conn.closeSync();
  instance.closeSync();
  await fs.rm(out, { force: true });
  return (performance.now() - t0) / 1000;
}

/** The baseline commit's quality-gate sources, beside a link to this repository's node_modules. */
async function baselineTree(): Promise<string> {
  const dir = path.join(CACHE, `baseline-${BASELINE_REF}`);
  if (existsSync(path.join(dir, 'services'))) return dir;
  await fs.mkdir(dir, { recursive: true });
  const archive = path.join(dir, 'src.tar');
  await promisify(execFile)('git', [
    '-C',
    repoRoot,
    'archive',
    '-o',
    archive,
    BASELINE_REF,
    'services/quality-gate/src',
  ]);
  await promisify(execFile)('tar', ['-xf', archive, '-C', dir]);
  await fs
    .symlink(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'))
    .catch(() => undefined);
  return dir;
}

async function main() {
  if (process.argv.includes('--child')) {
    const [kind, file, rows, extra] = process.argv.slice(process.argv.indexOf('--child') + 1);
    const figures =
      kind === 'duckdb'
        ? await childDuckdb(file!, extra!, Number(rows))
        : kind === 'legacy'
          ? await childLegacy(extra!, file!, Number(rows))
          : await childRay(file!, Number(rows));
    process.stdout.write(`\n${JSON.stringify(figures)}\n`);
    return;
  }
  const results: (Figures | { engine: string; rows: number; error: string })[] = [];
  const file = await source(ROWS);
  const size = (await fs.stat(file)).size;
  const checksum = await sha256(file);
  const ref = await reference(file);
  results.push(await tagged('duckdb', ROWS, child(['duckdb', file, String(ROWS), checksum])));
  const dir = await baselineTree();
  for (const rows of LEGACY) {
    const f = await source(rows);
    // Bounded: the old code gets 8 GB of heap; beyond that it is reported as not finishing.
    results.push(await tagged('before (JS objects)', rows, child(['legacy', f, String(rows), dir], 8192)));
    const small = await source(rows);
    results.push(await tagged('duckdb', rows, child(['duckdb', small, String(rows), await sha256(small)])));
  }
  if (!SKIP_RAY) {
    const f = await source(RAY_ROWS);
    results.push(await tagged('ray (1 CPU)', RAY_ROWS, child(['ray', f, String(RAY_ROWS)])));
  }

  const mb = (size / 1e6).toFixed(0);
  out(
    `\n## Refresh: ingest + sample (fraction ${FRACTION}) + word dropout + gate, one Parquet source of 20 columns\n`,
  );
  out(
    `${os.cpus().length} cores; DuckDB memory_limit ${MEMORY_LIMIT}; ${ROWS.toLocaleString('en')}-row source ${mb} MB (zstd)`,
  );
  out(
    `physical reference (${ROWS.toLocaleString('en')} rows): sha256 of the file + DuckDB scan writing a 50% sample, 2 threads: ${ref.toFixed(1)} s\n`,
  );
  out(
    '| engine | rows | candidate rows | ingest s | generate s | gate s | total s | × reference | peak RSS MB | verdict | notes |',
  );
  out('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
  for (const r of results) {
    if ('error' in r) {
      out(`| ${r.engine} | ${r.rows.toLocaleString('en')} | | | | | | | | | did not finish: ${r.error} |`);
      continue;
    }
    const s = (k: string) => r.seconds[k]?.toFixed(1) ?? '';
    const perRef = r.rows === ROWS ? `${((r.seconds.total ?? 0) / ref).toFixed(1)}` : '';
    const notes = [
      r.seconds.submit_to_running === undefined
        ? ''
        : `submit→running ${r.seconds.submit_to_running.toFixed(2)} s, job wall ${s('job_wall')} s`,
      r.note ?? '',
    ]
      .filter(Boolean)
      .join('; ');
    out(
      `| ${r.engine} | ${r.rows.toLocaleString('en')} | ${r.candidateRows.toLocaleString('en')} | ${s('ingest')} | ${s('generate')} | ${s('gate')} | ${s('total')} | ${perRef} | ${r.peakRssMb.toFixed(0)} | ${r.passed ? 'passed' : 'failed'} | ${notes} |`,
    );
  }
}

async function tagged(engine: string, rows: number, p: Promise<Figures | { error: string }>) {
  const r = await p;
  return 'error' in r ? { engine, rows, error: r.error } : r;
}

await main();
