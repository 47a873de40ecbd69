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

async function csvOf(name: string, rows: (string | number)[][], header = 'a,b,v'): Promise<string> {
  const csv = path.join(work, `${name}.csv`);
  await fs.writeFile(csv, [header, ...rows.map((r) => r.join(','))].join('\n') + '\n');
  return csv;
}

async function rowsOf(part: string): Promise<string[]> {
  const conn = await reader.connect();
  const read = await conn.runAndReadAll(`SELECT a, b, v FROM read_parquet('${part}')`);
  conn.closeSync();
  return read.getRows().map((r) => r.map(String).join('|'));
}

/** The full path: stages a CSV table, marks repeated keys bad, returns the part's rows in file order. */
async function partOf(name: string, rows: (string | number)[][]): Promise<string[]> {
  const csv = await csvOf(name, rows);
  const session = await engine.session();
  try {
    await session.stage(`${name}.csv`, csv, 'csv', columns);
    await session.buildTyped();
    const duplicated = await session.duplicates(['a', 'b']);
    await session.markBad(duplicated.flatMap((d) => d.rows));
    const out = path.join(work, `${name}.parquet`);
    await session.writeBatchPart(columns, ['a', 'b'], undefined, name, out);
    return await rowsOf(out);
  } finally {
    session.close();
  }
}

/** The fast path: the part's rows, or undefined when the table is not clean (and then no file is left). */
async function cleanPartOf(
  name: string,
  rows: (string | number)[][],
  cols: readonly ContractColumn[] = columns,
  header = 'a,b,v',
): Promise<string[] | undefined> {
  const csv = await csvOf(name, rows, header);
  const session = await engine.session();
  const out = path.join(work, `${name}-clean.parquet`);
  try {
    const stats = await session.writeCleanPart(`${name}.csv`, csv, 'csv', cols, ['a', 'b'], name, out);
    if (!stats) {
      await expect(fs.access(out)).rejects.toThrow();
      return undefined;
    }
    const got = await rowsOf(out);
    expect(stats.rows).toBe(got.length);
    return got;
  } finally {
    session.close();
  }
}

describe('preprocessor: the batch part', () => {
  // Keys in order (a, then b as text), 3 000 rows so the table spans several DuckDB vectors.
  const ordered = Array.from({ length: 3000 }, (_, i) => [Math.floor(i / 10), `k${i % 10}`, i / 4]);
  const expected = ordered.map((r) => r.map(String).join('|'));
  const shuffled = [...ordered].sort(
    (x, y) => ((Number(x[2]) * 7919) % 3001) - ((Number(y[2]) * 7919) % 3001),
  );

  it('when the same rows come shuffled, then the full path sorts the part by the key', async () => {
    expect(shuffled).not.toEqual(ordered);
    expect(await partOf('shuffled', shuffled)).toEqual(expected);
  });

  it('when keys are in order but one repeats, then the full path leaves the repeated rows out and keeps the key order', async () => {
    const repeated = [...ordered.slice(0, 100), ordered[99]!, ...ordered.slice(100)];
    const rows = await partOf('repeated', repeated);
    expect(rows).toEqual(expected.filter((_, i) => i !== 99));
  });

  it('when a clean table is already in key order, then the fast path writes every row in that order', async () => {
    expect(await cleanPartOf('clean-ordered', ordered)).toEqual(expected);
  });

  it('when a clean table comes shuffled, then the fast path sorts its part by the key', async () => {
    expect(await cleanPartOf('clean-shuffled', shuffled)).toEqual(expected);
  });

  it('when a key repeats, in order or not, then the fast path writes nothing', async () => {
    expect(await cleanPartOf('clean-repeat', [...ordered, ordered[2999]!])).toBeUndefined();
    expect(await cleanPartOf('clean-repeat-shuffled', [...shuffled, shuffled[0]!])).toBeUndefined();
  });

  it('when only the very last row breaks the contract, then the fast path writes nothing', async () => {
    expect(await cleanPartOf('clean-last', [...ordered, [400, 'k0', 'not a number']])).toBeUndefined();
    expect(await cleanPartOf('clean-last-null', [...ordered, [400, '', 1]])).toBeUndefined();
  });

  it('when a unique column repeats a value, then the fast path writes nothing; a null does not count', async () => {
    const unique = contractSchema.parse({
      name: 'parts',
      version: '1.0.0',
      description: 'parts',
      primary_key: ['a', 'b'],
      on_bad_rows: 'quarantine',
      columns: [
        { name: 'a', type: 'integer' },
        { name: 'b', type: 'string' },
        { name: 'v', type: 'number', nullable: true, unique: true },
      ],
    }).columns;
    const nulls = ordered.map(([a, b, v]) => [a!, b!, Number(v) % 2 === 0 ? '' : v!]);
    expect(await cleanPartOf('unique-nulls', nulls.slice(0, 12), unique)).toEqual(
      nulls.slice(0, 12).map(([a, b, v]) => `${a}|${b}|${v === '' ? 'null' : v}`),
    );
    const repeated = [...ordered.slice(0, 20), [999, 'k0', ordered[5]![2]!]];
    expect(await cleanPartOf('unique-repeat', repeated, unique)).toBeUndefined();
  });

  it('when the table cannot be read, then the fast path says so as the full path does', async () => {
    await expect(cleanPartOf('ragged', [[1, 'k1', 1, 'extra']])).rejects.toThrow(
      /cannot be read as csv: line 2/,
    );
  });
});
