import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractSchema, type ContractColumn } from '@tributary/contracts';
import { DuckTablesEngine } from '../src/data-access/tables.ts';

let work: string;
let engine: DuckTablesEngine;
let reader: DuckDBInstance;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'batch-part-'));
  engine = await DuckTablesEngine.create({ threads: 2, memoryLimit: '512MB', tempDir: work });
  reader = await DuckDBInstance.create(':memory:');
});
afterAll(async () => {
  await engine?.close();
  reader?.closeSync();
  await fs.rm(work, { recursive: true, force: true });
});

const columns: ContractColumn[] = contractSchema.parse({
  name: 'parts',
  version: '1.0.0',
  description: 'parts',
  primary_key: ['a', 'b'],
  on_bad_rows: 'quarantine',
  columns: [
    { name: 'a', type: 'integer' },
    { name: 'b', type: 'string' },
    { name: 'v', type: 'number', nullable: true },
  ],
}).columns;

/** Writes `rows` as a CSV table, stages it, and returns the batch part's rows in file order. */
async function partOf(name: string, rows: (string | number)[][]): Promise<string[]> {
  const csv = path.join(work, `${name}.csv`);
  await fs.writeFile(csv, ['a,b,v', ...rows.map((r) => r.join(','))].join('\n') + '\n');
  const session = await engine.session();
  try {
    await session.stage(`${name}.csv`, csv, 'csv', columns);
    await session.buildTyped();
    const duplicated = await session.duplicates(['a', 'b']);
    await session.markBad(duplicated.flatMap((d) => d.rows));
    const out = path.join(work, `${name}.parquet`);
    await session.writeBatchPart(columns, ['a', 'b'], undefined, name, out);
    const conn = await reader.connect();
    const read = await conn.runAndReadAll(`SELECT a, b, v FROM read_parquet('${out}')`);
    conn.closeSync();
    return read.getRows().map((r) => r.map(String).join('|'));
  } finally {
    session.close();
  }
}

describe('preprocessor: the batch part', () => {
  // Keys in order (a, then b as text), 3 000 rows so the table spans several DuckDB vectors.
  const ordered = Array.from({ length: 3000 }, (_, i) => [Math.floor(i / 10), `k${i % 10}`, i / 4]);
  const expected = ordered.map((r) => r.map(String).join('|'));

  it('when a table is already in key order, then its part has every row in that order', async () => {
    expect(await partOf('ordered', ordered)).toEqual(expected);
  });

  it('when the same rows come shuffled, then the part is sorted by the key all the same', async () => {
    const shuffled = [...ordered].sort(
      (x, y) => ((Number(x[2]) * 7919) % 3001) - ((Number(y[2]) * 7919) % 3001),
    );
    expect(shuffled).not.toEqual(ordered);
    expect(await partOf('shuffled', shuffled)).toEqual(expected);
  });

  it('when keys are in order but one repeats, then the repeated rows are left out and the rest keep the key order', async () => {
    const repeated = [...ordered.slice(0, 100), ordered[99]!, ...ordered.slice(100)];
    const rows = await partOf('repeated', repeated);
    expect(rows).toEqual(expected.filter((_, i) => i !== 99));
  });
});
