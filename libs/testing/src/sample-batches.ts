import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { newEventId, type BatchReady } from '@tributary/events';

/** One row of contracts/penguins/1.0.0.yaml. */
export interface PenguinRow {
  id: string;
  species: string;
  island: string;
  beak_length_mm: number | null;
  beak_depth_mm: number | null;
  flipper_length_mm: number | null;
  body_mass_g: number | null;
  sex: string | null;
  /** Path of the row's photo inside the batch, or null. */
  image: string | null;
}

/** Columns of the penguins contract, in its order: the header of sample CSV files. */
export const PENGUIN_COLUMNS = [
  'id',
  'species',
  'island',
  'beak_length_mm',
  'beak_depth_mm',
  'flipper_length_mm',
  'body_mass_g',
  'sex',
  'image',
] as const;

/** Real PNGs (100×100 RGBA) shipped by vega-datasets; sample rows link to them in turn. */
export const SAMPLE_IMAGES = ['7zip.png', 'ffox.png', 'gimp.png'] as const;

/** How many penguins vega-datasets has: offsets of sample batches stay below it. */
export const PENGUIN_COUNT = 344;

interface VegaPenguin {
  Species: string;
  Island: string;
  'Beak Length (mm)': number | null;
  'Beak Depth (mm)': number | null;
  'Flipper Length (mm)': number | null;
  'Body Mass (g)': number | null;
  Sex: string | null;
}

/** The data folder of the vega-datasets package (its exports map hides it from plain imports). */
function vegaDataDir(): string {
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  return path.join(path.dirname(entry), '..', 'data');
}

/** Absolute path of a file of the vega-datasets package's data folder (e.g. seattle-weather.csv). */
export function vegaDataFile(name: string): string {
  return path.join(vegaDataDir(), name);
}

/** Absolute path of one of the SAMPLE_IMAGES. */
export function sampleImagePath(name: (typeof SAMPLE_IMAGES)[number]): string {
  return path.join(vegaDataDir(), name);
}

let penguins: VegaPenguin[] | undefined;

/**
 * Real Palmer penguins rows as the contract names them, with ids `P0001`… numbered from the start
 * of the data set, so batches cut at different offsets never share an id. The source marks one
 * unknown sex as ".", which becomes null like the other missing values.
 */
export async function penguinRows(opts: { offset?: number; count?: number } = {}): Promise<PenguinRow[]> {
  penguins ??= JSON.parse(
    await fs.readFile(path.join(vegaDataDir(), 'penguins.json'), 'utf8'),
  ) as VegaPenguin[];
  const offset = opts.offset ?? 0;
  const count = opts.count ?? 20;
  if (offset < 0 || offset + count > penguins.length) {
    throw new Error(
      `penguinRows: rows ${offset}..${offset + count} are outside the ${penguins.length} penguins`,
    );
  }
  return penguins.slice(offset, offset + count).map((p, i) => ({
    id: `P${String(offset + i + 1).padStart(4, '0')}`,
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

export interface SampleBatchOptions {
  /** First penguin (0-based) of the batch; default 0. */
  offset?: number;
  /** Rows in the batch; default 20. */
  count?: number;
  /** Table format; default csv. */
  format?: 'csv' | 'jsonl';
  /** File name of the table; default `rows.csv` / `rows.jsonl`. */
  tableName?: string;
  /** The first N rows link to a real PNG stored at `images/<id>.png`; default 0. */
  images?: number;
  /** The last N rows break the contract (species "Emperor", not in its enum); default 0. */
  invalidRows?: number;
  /** The first N linked images are bytes that are not an image; default 0. */
  corruptImages?: number;
}

/** A file written into a sample batch, with the checksums producers declare. */
export interface SampleFile {
  /** Path inside the batch (posix). */
  path: string;
  absolutePath: string;
  role: 'TABLE' | 'IMAGE';
  sha256: string;
  md5: string;
  size: number;
}

export interface SampleBatch {
  dir: string;
  rows: PenguinRow[];
  /** Every file written, table first, then images in path order. */
  files: SampleFile[];
}

/**
 * Writes a batch of real penguins into `dir` (created if needed): one table matching
 * contracts/penguins/1.0.0.yaml plus the images its rows link to. Same options, same bytes.
 */
export async function writeSampleBatch(dir: string, opts: SampleBatchOptions = {}): Promise<SampleBatch> {
  const rows = await penguinRows({ offset: opts.offset ?? 0, count: opts.count ?? 20 });
  const format = opts.format ?? 'csv';
  const images = Math.min(opts.images ?? 0, rows.length);
  const invalid = Math.min(opts.invalidRows ?? 0, rows.length);
  rows.forEach((row, i) => {
    if (i < images) row.image = `images/${row.id}.png`;
    if (i >= rows.length - invalid) row.species = 'Emperor';
  });

  await fs.mkdir(dir, { recursive: true });
  const files: SampleFile[] = [];
  const tableName = opts.tableName ?? `rows.${format}`;
  const table = format === 'csv' ? toCsv(rows) : rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  files.push(await writeFile(dir, tableName, Buffer.from(table, 'utf8'), 'TABLE'));

  for (let i = 0; i < images; i++) {
    const row = rows[i]!;
    const bytes =
      i < (opts.corruptImages ?? 0)
        ? Buffer.from(`not an image: ${row.id}\n`, 'utf8')
        : await fs.readFile(sampleImagePath(SAMPLE_IMAGES[i % SAMPLE_IMAGES.length]!));
    files.push(await writeFile(dir, row.image!, bytes, 'IMAGE'));
  }
  return { dir, rows, files };
}

/** RFC 4180 CSV with a header, `\n` line ends, and empty fields for nulls. */
export function toCsv(rows: readonly PenguinRow[]): string {
  const cell = (v: string | number | null) => {
    if (v === null) return '';
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [
    PENGUIN_COLUMNS.join(','),
    ...rows.map((r) => PENGUIN_COLUMNS.map((c) => cell(r[c])).join(',')),
  ];
  return `${lines.join('\n')}\n`;
}

async function writeFile(
  dir: string,
  rel: string,
  bytes: Buffer,
  role: SampleFile['role'],
): Promise<SampleFile> {
  const absolutePath = path.join(dir, ...rel.split('/'));
  await fs.mkdir(path.dirname(absolutePath), { recursive: true });
  await fs.writeFile(absolutePath, bytes);
  return {
    path: rel,
    absolutePath,
    role,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    md5: createHash('md5').update(bytes).digest('hex'),
    size: bytes.length,
  };
}

/** The batch.ready a Kafka producer would send for a sample batch written under `dir`. */
export function batchReadyFor(
  sample: SampleBatch,
  opts: {
    dataset?: string;
    batchId: string;
    contract?: { name: string; version: string };
    producer?: string;
  },
): BatchReady {
  return {
    event_id: newEventId(),
    occurred_at: Date.now(),
    run_id: null,
    dataset: opts.dataset ?? 'penguins',
    batch_id: opts.batchId,
    producer: opts.producer ?? 'field-team',
    source: 'KAFKA',
    contract: opts.contract ?? { name: 'penguins', version: '1.0.0' },
    files: sample.files.map((f) => ({
      path: f.path,
      uri: pathToFileURL(f.absolutePath).href,
      role: f.role,
      sha256: f.sha256,
      size_bytes: f.size,
      schema_version: f.role === 'TABLE' ? '1.0.0' : null,
    })),
    attributes: {},
  };
}
