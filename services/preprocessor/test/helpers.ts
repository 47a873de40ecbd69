import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import sharp from 'sharp';
import { createPool } from '@tributary/db';
import {
  buildDirObject,
  dvcObjectKey,
  masterVersionKey,
  masterVersionName,
  md5Buffer,
  renderDvcFile,
} from '@tributary/dvc';
import {
  EventRegistry,
  batchIngested,
  batchRejected,
  masterVersioned,
  newEventId,
  type BatchIngested,
  type BatchRejected,
  type EventDefinition,
  type MasterVersioned,
} from '@tributary/events';
import { EventProducer, createKafka } from '@tributary/kafka';
import { FsObjectStore, objectUri, type ObjectStore } from '@tributary/storage';
import {
  DvcSandbox,
  EventReader,
  freePort,
  isolatedServiceEnv,
  serviceEnv,
  settleServices,
  stackEnv,
  startTsProcess,
  toCsv,
  waitForServing,
  type PenguinRow,
  type RunningProcess,
} from '@tributary/testing';
import { createLogger } from '@tributary/telemetry';
import { manifest } from '../src/manifest.ts';

/** A file of a test batch: its path inside the batch, role and bytes. */
export interface BatchFile {
  path: string;
  role: 'TABLE' | 'IMAGE';
  bytes: Buffer;
}

/**
 * Lays a raw batch out in the data store as the ingestor does (raw/<dataset>/<batch_id>/<path>,
 * the .dvc beside it, objects under dvc/) and returns the batch.ingested that announces it.
 */
export async function writeRawBatch(
  storeDir: string | ObjectStore,
  dataset: string,
  batchId: string,
  files: readonly BatchFile[],
  contract = { name: dataset, version: '1.0.0' },
): Promise<BatchIngested> {
  const store = typeof storeDir === 'string' ? new FsObjectStore(storeDir) : storeDir;
  const described = files.map((f) => ({
    path: f.path,
    role: f.role,
    sha256: createHash('sha256').update(f.bytes).digest('hex'),
    md5: md5Buffer(f.bytes),
    size_bytes: f.bytes.length,
    schema_version: null,
  }));
  for (const f of files) {
    await store.put(`raw/${dataset}/${batchId}/${f.path}`, f.bytes);
    await store.put(`dvc/${dvcObjectKey(md5Buffer(f.bytes))}`, f.bytes);
  }
  const dir = buildDirObject(described.map((f) => ({ relpath: f.path, md5: f.md5, size: f.size_bytes })));
  await store.put(`dvc/${dvcObjectKey(dir.md5)}`, dir.json);
  await store.put(
    `raw/${dataset}/${batchId}.dvc`,
    renderDvcFile({ path: batchId, md5: dir.md5, size: dir.size, nfiles: dir.nfiles }),
  );
  const contentHash = createHash('sha256')
    .update(
      [...described]
        .sort((a, b) => (a.path < b.path ? -1 : 1))
        .map((f) => `${f.path}\u0000${f.sha256}\n`)
        .join(''),
    )
    .digest('hex');
  return {
    event_id: newEventId(),
    occurred_at: Date.now(),
    ready_at: null,
    run_id: createHash('md5').update(batchId).digest('hex'),
    dataset,
    batch_id: batchId,
    producer: 'test-producer',
    contract,
    content_hash: contentHash,
    raw_location: objectUri(store, `raw/${dataset}/${batchId}`),
    raw_md5: dir.md5,
    raw_dvc_file: objectUri(store, `raw/${dataset}/${batchId}.dvc`),
    files: described,
  };
}

/** Penguins rows as the bytes of a CSV table file. */
export function csvBytes(rows: readonly PenguinRow[]): Buffer {
  return Buffer.from(toCsv(rows), 'utf8');
}

/** Penguin rows as the bytes of a JSON Lines table file. */
export const jsonl = (rows: readonly PenguinRow[]) =>
  Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n') + '\n', 'utf8');

/**
 * Penguin rows as Parquet bytes, written by DuckDB from JSON Lines (strings stay VARCHAR); with
 * `imageBytes`, the image column is a BLOB (BYTE_ARRAY without a string annotation) of those bytes.
 */
export async function parquetBytes(
  rows: readonly PenguinRow[],
  imageBytes?: readonly (Buffer | null)[],
): Promise<Buffer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hostile-'));
  try {
    const input = imageBytes
      ? rows.map((r, i) => ({ ...r, image: imageBytes[i]?.toString('hex') ?? null }))
      : rows;
    await fs.writeFile(path.join(dir, 'in.jsonl'), jsonl(input));
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const select = imageBytes ? 'SELECT * REPLACE (unhex(image) AS image)' : 'SELECT *';
    await conn.run(
      `COPY (${select} FROM read_json('${dir}/in.jsonl', format = 'newline_delimited', columns = {id: 'VARCHAR', species: 'VARCHAR', island: 'VARCHAR', beak_length_mm: 'DOUBLE', beak_depth_mm: 'DOUBLE', flipper_length_mm: 'DOUBLE', body_mass_g: 'DOUBLE', sex: 'VARCHAR', image: 'VARCHAR'})) TO '${dir}/out.parquet' (FORMAT parquet)`,
    );
    conn.closeSync();
    db.closeSync();
    return await fs.readFile(path.join(dir, 'out.parquet'));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** A small deterministic PNG. */
export function png(width: number, height: number, rgb: [number, number, number]): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toBuffer();
}

/** Everything a test needs to run the preprocessor against its own topics, schema and store. */
export async function testEnvironment(extra: Record<string, string> = {}) {
  const storeDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-pre-'));
  const env = serviceEnv(
    isolatedServiceEnv('preprocessor', {
      DATA_STORE_URI: storeDir,
      KAFKA_TOPIC_PARTITIONS: '3',
      LOCK_TTL_MS: '10000',
      CONSUMER_RETRY_BASE_MS: '200',
      OUTBOX_POLL_MS: '200',
      ...extra,
    }),
  );
  const prefix = env.TOPIC_PREFIX!;
  const schema = env.DATABASE_SCHEMA!;
  const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });
  const kafka = createKafka({
    clientId: `${schema}-test`,
    brokers: stackEnv.KAFKA_BROKERS.split(','),
    logger: createLogger({ serviceName: 'test', level: 'silent' }),
  });
  const producer = new EventProducer(kafka, registry, prefix);
  await producer.connect();
  const pool = createPool({ url: stackEnv.DATABASE_URL, schema });
  const readers: Pick<EventReader<unknown>, 'readToEnd' | 'stop'>[] = [];
  // The preprocessor's consumer group as its runner names it, whether it runs here or as a process.
  const group = {
    groupId: `${prefix}tributary.${env.SERVICE_NAME ?? manifest.name}`,
    topics: manifest.consumes.map((def) => `${prefix}${def.topic}`),
  };

  /** A reader of `def`'s topic from its beginning; open it once the service made its topics. */
  async function read<T>(def: EventDefinition<T>): Promise<EventReader<T>> {
    const reader = await EventReader.open(registry, prefix, def);
    readers.push(reader);
    return reader;
  }

  return {
    env,
    storeDir,
    prefix,
    schema,
    pool,
    publish: (event: BatchIngested, key?: string) =>
      producer.publish(batchIngested, event, key === undefined ? {} : { key }),
    readVersions: () => read<MasterVersioned>(masterVersioned),
    readRejections: () => read<BatchRejected>(batchRejected),
    /**
     * Waits until the preprocessor (in this process or as child processes) handled every
     * batch.ingested so far, its outbox is published and every reader opened read to the end.
     */
    settled: () => settleServices({ groups: [group], pool, readers }),
    async dispose() {
      for (const r of readers) await r.stop();
      await producer.disconnect();
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await pool.end();
      await fs.rm(storeDir, { recursive: true, force: true });
    },
  };
}

export type TestEnvironment = Awaited<ReturnType<typeof testEnvironment>>;

/**
 * Starts the preprocessor (`src/main.ts`, as deployed) with `env` on a free port and waits until it
 * answers /healthz; a process that does not is killed, and the error carries its output.
 */
export async function startPreprocessor(
  env: Record<string, string>,
): Promise<RunningProcess & { port: number }> {
  const port = await freePort();
  const p = startTsProcess(new URL('../src/main.ts', import.meta.url), { ...env, HTTP_PORT: String(port) });
  try {
    await waitForServing(p, port, { timeoutMs: 120_000, what: 'preprocessor /healthz' });
  } catch (err) {
    p.child.kill('SIGKILL');
    throw err;
  }
  return { ...p, port };
}

/** The preprocessor processes of one test file: each on the test's env plus extras, all killed at the end. */
export class PreprocessorProcesses {
  private readonly procs: RunningProcess[] = [];
  private readonly env: () => Record<string, string>;
  constructor(env: () => Record<string, string>) {
    this.env = env;
  }

  async start(extra: Record<string, string> = {}): Promise<RunningProcess> {
    const p = await startPreprocessor({ ...this.env(), ...extra });
    this.procs.push(p);
    return p;
  }

  /** A graceful stop (SIGTERM), as a deployment does. */
  async stop(p: RunningProcess): Promise<void> {
    p.child.kill('SIGTERM');
    await p.exited;
  }

  killAll(): void {
    for (const p of this.procs) p.child.kill('SIGKILL');
  }
}

/**
 * Checks out master version `version` of `dataset` with the real DVC CLI from what the
 * preprocessor wrote: a fresh `dvc init --no-scm` repo, the store's dvc/ folder as its remote,
 * the version's .dvc file, `dvc pull`. Returns the checked-out directory and `dvc status` output.
 */
export async function dvcCheckout(storeDir: string, dataset: string, version: number) {
  const co = await dvcCheckoutMany(storeDir, [{ dataset, version }]);
  return { dir: co.dirs[0]!, status: co.status, repo: co.repo, dispose: co.dispose };
}

/**
 * Several master versions, of one or several datasets, checked out side by side in one DVC
 * repository, as docs/data-pipeline.md shows: each `master/<dataset>/<dataset>-v<N>.dvc` copied to
 * the repository's root, one `dvc pull`. Returns the directories (in the order asked) and `dvc status`.
 */
export async function dvcCheckoutMany(
  storeDir: string,
  wanted: readonly { dataset: string; version: number }[],
) {
  const sandbox = await DvcSandbox.create();
  const repo = await sandbox.initRepo('repo');
  await sandbox.dvcOk(repo, ['remote', 'add', '-d', 'store', path.join(storeDir, 'dvc')]);
  const names = wanted.map((w) => masterVersionName(w.dataset, w.version));
  for (const [i, w] of wanted.entries()) {
    await fs.copyFile(
      path.join(storeDir, ...`${masterVersionKey(w.dataset, w.version)}.dvc`.split('/')),
      path.join(repo, `${names[i]!}.dvc`),
    );
  }
  await sandbox.dvcOk(repo, ['pull', ...names.map((n) => `${n}.dvc`)]);
  const { stdout: status } = await sandbox.dvcOk(repo, ['status', ...names.map((n) => `${n}.dvc`)]);
  return {
    repo,
    dirs: names.map((n) => path.join(repo, n)),
    status,
    dispose: () => sandbox.dispose(),
  };
}

/** The bytes of the DVC object `md5` in the store. */
export function dvcObject(storeDir: string, md5: string): Promise<Buffer> {
  return fs.readFile(path.join(storeDir, 'dvc', ...dvcObjectKey(md5).split('/')));
}

/**
 * The files of a batch whose rows name their image by a short name (or null): `rows.csv` linking
 * `images/<name>.png`, plus each named image from `images` once.
 */
export function imageBatchFiles(
  batch: readonly PenguinRow[],
  images: ReadonlyMap<string, Buffer>,
): BatchFile[] {
  const names = [...new Set(batch.map((r) => r.image).filter((i): i is string => i !== null))].sort();
  return [
    {
      path: 'rows.csv',
      role: 'TABLE',
      bytes: csvBytes(batch.map((r) => ({ ...r, image: r.image && `images/${r.image}.png` }))),
    },
    ...names.map((n): BatchFile => ({ path: `images/${n}.png`, role: 'IMAGE', bytes: images.get(n)! })),
  ];
}
