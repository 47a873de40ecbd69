import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { createPool } from '@tributary/db';
import { buildDirObject, md5Buffer, renderDvcFile } from '@tributary/dvc';
import {
  EventRegistry,
  batchIngested,
  batchRejected,
  masterVersioned,
  newEventId,
  prefixEvent,
  type BatchIngested,
  type BatchRejected,
  type EventDefinition,
  type MasterVersioned,
} from '@tributary/events';
import { EventProducer, createKafka } from '@tributary/kafka';
import { FsObjectStore, objectUri, type ObjectStore } from '@tributary/storage';
import { collectMessages, isolatedServiceEnv, serviceEnv, stackEnv, testKafka } from '@tributary/testing';
import { createLogger } from '@tributary/telemetry';

const require = createRequire(import.meta.url);

/** A data file shipped by the vega-datasets package (its exports map hides the data folder). */
export function vegaDataFile(name: string): string {
  return path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', name);
}

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
    await store.put(
      `dvc/files/md5/${md5Buffer(f.bytes).slice(0, 2)}/${md5Buffer(f.bytes).slice(2)}`,
      f.bytes,
    );
  }
  const dir = buildDirObject(described.map((f) => ({ relpath: f.path, md5: f.md5, size: f.size_bytes })));
  await store.put(`dvc/files/md5/${dir.md5.slice(0, 2)}/${dir.md5.slice(2)}`, dir.json);
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

interface PenguinJson {
  Species: string;
  Island: string;
  'Beak Length (mm)': number | null;
  'Beak Depth (mm)': number | null;
  'Flipper Length (mm)': number | null;
  'Body Mass (g)': number | null;
  Sex: string | null;
}

/** Real penguins from the vega-datasets package, as penguins-contract rows (ids P0001, ...). */
export async function penguinRows(): Promise<Record<string, string | number | null>[]> {
  const file = vegaDataFile('penguins.json');
  const data = JSON.parse(await fs.readFile(file, 'utf8')) as PenguinJson[];
  return data.map((p, i) => ({
    id: `P${String(i + 1).padStart(4, '0')}`,
    species: p.Species,
    island: p.Island,
    beak_length_mm: p['Beak Length (mm)'],
    beak_depth_mm: p['Beak Depth (mm)'],
    flipper_length_mm: p['Flipper Length (mm)'],
    body_mass_g: p['Body Mass (g)'],
    sex: p.Sex === 'MALE' || p.Sex === 'FEMALE' ? p.Sex : null,
    image: null,
  }));
}

const PENGUIN_COLUMNS = [
  'id',
  'species',
  'island',
  'beak_length_mm',
  'beak_depth_mm',
  'flipper_length_mm',
  'body_mass_g',
  'sex',
  'image',
];

/** Rows as CSV text (empty field = null). */
export function toCsv(
  rows: readonly Record<string, string | number | null>[],
  columns = PENGUIN_COLUMNS,
): Buffer {
  const cell = (v: string | number | null | undefined) =>
    v === null || v === undefined
      ? ''
      : /[",\n]/.test(String(v))
        ? `"${String(v).replaceAll('"', '""')}"`
        : String(v);
  return Buffer.from(
    [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n') + '\n',
  );
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
  const collectors: { stop: () => Promise<void> }[] = [];

  async function collect<T>(def: EventDefinition<T>) {
    const c = await collectMessages(testKafka(), `${prefix}${def.topic}`);
    collectors.push(c);
    const decode = async (n: number, timeoutMs = 60_000) =>
      Promise.all(
        (await c.waitForMessages(n, timeoutMs)).map((m) =>
          registry.decode(prefixEvent(def, prefix), m.value!),
        ),
      );
    return { decode, messages: c.messages };
  }

  return {
    env,
    storeDir,
    prefix,
    schema,
    pool,
    publish: (event: BatchIngested, key?: string) =>
      producer.publish(batchIngested, event, key === undefined ? {} : { key }),
    collectVersions: () => collect<MasterVersioned>(masterVersioned),
    collectRejections: () => collect<BatchRejected>(batchRejected),
    async dispose() {
      for (const c of collectors) await c.stop();
      await producer.disconnect();
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await pool.end();
      await fs.rm(storeDir, { recursive: true, force: true });
    },
  };
}

export type TestEnvironment = Awaited<ReturnType<typeof testEnvironment>>;

/** The real DVC CLI of the stack's virtualenv, in a sandbox that touches no global DVC state. */
export async function dvc(cwd: string, args: readonly string[], home: string): Promise<string> {
  const bin = path.join(stackEnv.TRIBUTARY_VENV, 'bin', 'dvc');
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    DVC_NO_ANALYTICS: '1',
    DVC_STUDIO_OFFLINE: '1',
    DVC_GLOBAL_CONFIG_DIR: path.join(home, 'global'),
    DVC_SYSTEM_CONFIG_DIR: path.join(home, 'system'),
    DVC_SITE_CACHE_DIR: path.join(home, 'site-cache'),
  };
  return new Promise((resolve, reject) => {
    execFile(bin, [...args], { cwd, env, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`dvc ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Checks out master version `version` of `dataset` with the real DVC CLI from what the
 * preprocessor wrote: a fresh `dvc init --no-scm` repo, the store's dvc/ folder as its remote,
 * the version's .dvc file, `dvc pull`. Returns the checked-out directory and `dvc status` output.
 */
export async function dvcCheckout(storeDir: string, dataset: string, version: number) {
  const sandbox = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-dvc-'));
  const home = path.join(sandbox, '.home');
  const repo = path.join(sandbox, 'repo');
  await fs.mkdir(repo, { recursive: true });
  await dvc(repo, ['init', '--no-scm', '-q'], home);
  await dvc(repo, ['remote', 'add', '-d', 'store', path.join(storeDir, 'dvc')], home);
  await fs.copyFile(
    path.join(storeDir, 'master', dataset, `v${version}.dvc`),
    path.join(repo, `v${version}.dvc`),
  );
  await dvc(repo, ['pull', `v${version}.dvc`], home);
  const status = await dvc(repo, ['status', `v${version}.dvc`], home);
  return {
    dir: path.join(repo, `v${version}`),
    status,
    dispose: () => fs.rm(sandbox, { recursive: true, force: true }),
  };
}

/** relpath → bytes of every file below `dir`. */
export async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const e of await fs.readdir(abs, { withFileTypes: true })) {
      const relpath = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(path.join(abs, e.name), relpath);
      else out.set(relpath, await fs.readFile(path.join(abs, e.name)));
    }
  };
  await walk(dir, '');
  return out;
}

/** The bytes of the DVC object `md5` in the store. */
export function dvcObject(storeDir: string, md5: string): Promise<Buffer> {
  return fs.readFile(path.join(storeDir, 'dvc', 'files', 'md5', md5.slice(0, 2), md5.slice(2)));
}
