import { createHash } from 'node:crypto';
import { AppError } from '@tributary/errors';
import { ObjectNotFoundError, createObjectStore, type ObjectStoreOptions } from '@tributary/storage';
import type { Row, SourceReader } from '../domain/ports.ts';

/**
 * Reads a source file (`file:///…` or `s3://bucket/key`) through the object store and parses it by
 * extension: `.jsonl`/`.ndjson` (one JSON object a line) or `.csv` (header row, RFC 4180 quotes).
 */
export class StoreSourceReader implements SourceReader {
  constructor(private readonly s3: ObjectStoreOptions) {}

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
    const text = bytes.toString('utf8');
    if (/\.(jsonl|ndjson)$/i.test(key)) return { sha256, rows: parseJsonl(text, uri) };
    if (/\.csv$/i.test(key)) return { sha256, rows: parseCsv(text) };
    throw new AppError('QG_ERR_SOURCE_FORMAT', `${uri}: expected a .jsonl or .csv file`, {
      retriable: false,
    });
  }
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
