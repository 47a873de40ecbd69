import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type JS } from '@duckdb/node-api';
import { AppError } from '@tributary/errors';
import { ObjectNotFoundError, createObjectStore, type ObjectStoreOptions } from '@tributary/storage';
import type { Row, SourceReader } from '../domain/ports.ts';

/**
 * Reads a source file (`file:///…` or `s3://bucket/key`) through the object store and parses it by
 * extension: `.jsonl`/`.ndjson` (one JSON object a line), `.csv` (header row, RFC 4180 quotes) or
 * `.parquet` (read with DuckDB from a temp copy of the bytes). The checksum is of the raw bytes.
 */
export class StoreSourceReader implements SourceReader {
  private readonly s3: ObjectStoreOptions;
  constructor(s3: ObjectStoreOptions) {
    this.s3 = s3;
  }

  async read(uri: string): Promise<{ sha256: string; rows: Row[] }> {
    const slash = uri.lastIndexOf('/');
    const key = uri.slice(slash + 1);
    const store = createObjectStore(uri.slice(0, slash), this.s3);
    let bytes: Buffer;
    try {
      bytes = await store.getBuffer(key);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) {
        // Retriable: the source registry may not have published it yet.
        throw new AppError('QG_ERR_SOURCE_MISSING', `${uri} does not exist`, { retriable: true });
      }
      throw new AppError('QG_ERR_SOURCE_READ', `cannot read ${uri}`, { retriable: true, cause: err });
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (/\.parquet$/i.test(key)) return { sha256, rows: await parseParquet(bytes, uri) };
    const text = bytes.toString('utf8');
    if (/\.(jsonl|ndjson)$/i.test(key)) return { sha256, rows: parseJsonl(text, uri) };
    if (/\.csv$/i.test(key)) return { sha256, rows: parseCsv(text) };
    throw new AppError('QG_ERR_SOURCE_FORMAT', `${uri}: expected a .jsonl, .csv or .parquet file`, {
      retriable: false,
    });
  }
}

/**
 * Parquet through DuckDB. DuckDB reads files, not the object store (no S3 access here), so the bytes
 * already read (and checksummed) go to a temp file first. Values become JSON-friendly: integers
 * as numbers when safe (else decimal strings), timestamps and dates as ISO strings, blobs as base64.
 */
export async function parseParquet(bytes: Buffer, uri: string): Promise<Row[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'quality-gate-parquet-'));
  const file = path.join(dir, 'source.parquet');
  try {
    await writeFile(file, bytes);
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    try {
      const conn = await instance.connect();
      try {
        const reader = await conn.runAndReadAll(
          `SELECT * FROM read_parquet('${file.replaceAll("'", "''")}')`,
        );
        return reader.getRowObjectsJS().map((row) => plainValue(row) as Row);
      } catch (err) {
        throw new AppError(
          'QG_ERR_SOURCE_FORMAT',
          `${uri}: cannot be read as Parquet: ${err instanceof Error ? err.message : String(err)}`,
          { retriable: false, cause: err },
        );
      } finally {
        conn.closeSync();
      }
    } finally {
      instance.closeSync();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function plainValue(value: JS): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(plainValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainValue(v)]));
  }
  return value;
}

function parseJsonl(text: string, uri: string): Row[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as Row;
      } catch {
        throw new AppError('QG_ERR_SOURCE_FORMAT', `${uri}: line ${i + 1} is not JSON`, { retriable: false });
      }
    });
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. Values stay strings. */
export function parseCsv(text: string): Row[] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || record.length > 0) records.push([...record, field]);
  const [header, ...body] = records.filter((r) => !(r.length === 1 && r[0] === ''));
  if (!header) return [];
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}
