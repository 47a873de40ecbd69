/**
 * The contract's checks run two ways: in JavaScript value by value (small tables, the reference)
 * and compiled to SQL inside DuckDB (large tables), where only failing rows reach JavaScript. A
 * generated corpus of valid and invalid values per column type, source type and rule proves both
 * give the same verdict, rule and message for every value; a batch with bad rows scattered to its
 * very last row proves both give the same rejection report (rows, keys, reasons).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  ASK_JS,
  compileContract,
  contractSchema,
  patternToRe2,
  type DataContractInput,
  type Violation,
} from '@tributary/contracts';
import { FsObjectStore } from '@tributary/storage';
import { ObjectDataStore } from '../src/data-access/data-store.ts';
import { SharpImageProcessor } from '../src/data-access/images.ts';
import { DuckTablesEngine } from '../src/data-access/tables.ts';
import { validateBatch } from '../src/domain/validate-batch.ts';
import { writeRawBatch } from './helpers.ts';

type ColumnSpec = Omit<DataContractInput['columns'][number], 'name'>;
type RuleSpec = Omit<ColumnSpec, 'type'>;

interface Case {
  what: string;
  column: ColumnSpec;
  /** DuckDB type of the column in the staged table; VARCHAR cases go through a CSV file. */
  source: string;
  /** SQL expressions (typed sources) or raw text (VARCHAR; null for an empty field). */
  values: (string | null)[];
}

const sq = (s: string) => `'${s.replaceAll("'", "''")}'`;

const TEXTS = [
  'abc',
  'ABC',
  'AB',
  'ABCD',
  'a b',
  ' abc',
  'abc ',
  'a\tb',
  'a\nb',
  'a\rb',
  'a\u0000b',
  '\u001b[0m',
  'x\u001f',
  '\u007f',
  'é',
  'Ébc',
  '😀',
  '😀😀',
  'ab😀',
  'e\u0301e\u0301',
  'a.c',
  'a\nc',
  'a\u2028c',
  'a\u00a0b',
  'foo',
  'a foo b',
  'foobar',
  '123',
  '٣',
  '-',
  '[',
  ':',
  'NaN',
  '',
];
const INTEGER_TEXTS = [
  '1,2',
  ',1',
  '0',
  '1',
  '+1',
  '-1',
  '01',
  '1.0',
  '1e3',
  ' 1',
  '1 ',
  '100',
  '101',
  '-5',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775808',
  '-9223372036854775809',
  '00000000000000000000000000000042',
  '99999999999999999999999999999999999999999',
  'abc',
  '0x10',
  '1_000',
  '٣',
  '2',
  '3',
  '',
  '+',
  '--1',
];
const NUMBER_TEXTS = [
  '1,5',
  '1.5,',
  '0',
  '1',
  '1.5',
  '-1.5',
  '-1.6',
  '.5',
  '5.',
  '-.5e-3',
  '1e3',
  '1E3',
  '1000.0000001',
  '1e400',
  '-1e400',
  'NaN',
  'Infinity',
  'inf',
  '1_0',
  ' 1',
  '+1',
  'e5',
  '.',
  '-',
  '0x1A',
  '1.5.5',
  '2',
  '3',
  '1e-400',
  '4.9e-324',
  '',
];
const BOOLEAN_TEXTS = [
  'true',
  'TRUE',
  'True',
  'tRuE',
  'false',
  'FALSE',
  'yes',
  '1',
  '0',
  't',
  'truee',
  'falſe',
  ' true',
  '',
];
const DATE_TEXTS = [
  '2001-01-01',
  '2001-02-29',
  '2000-02-29',
  '1900-02-29',
  '0000-02-29',
  '2001-13-01',
  '2001-00-10',
  '2001-01-00',
  '2001-04-31',
  '2001-1-01',
  '20010101',
  '2001-01-01T00:00',
  ' 2001-01-01',
  '9999-12-31',
  '10000-01-01',
  '',
];
const TIMESTAMP_TEXTS = [
  '2001-01-01T00:00',
  '2001-01-01 00:00:00',
  '2001-01-01T23:59:59',
  '2001-01-01T24:00',
  '2001-01-01T23:60',
  '2001-01-01T00:00:60',
  '2001-01-01T00:00:59.123456789',
  '2001-01-01T00:00:59.1234567890',
  '2001-01-01T00:00Z',
  '2001-01-01T00:00+01',
  '2001-01-01T00:00+0100',
  '2001-01-01T00:00+01:00',
  '2001-01-01T00:00+1',
  '2001-02-29T00:00',
  '2000-02-29T12:00',
  '2001-01-01',
  '2001-01-01T00:00:5',
  '2001-01-01t00:00',
  '2001-01-01T0:00',
  '2001-01-01T00:00:00.',
  '2001-01-01T00:00z',
  '',
];

const NUMERIC_SOURCES: Record<string, string[]> = {
  BIGINT: ['0', '1', '-1', '100', '101', '9223372036854775807', '-9223372036854775808', '2', '3'],
  INTEGER: ['0', '1', '-5', '100', '101', '2147483647', '3'],
  UBIGINT: ['0', '1', '100', '9223372036854775807', '9223372036854775808', '18446744073709551615'],
  DOUBLE: [
    '0',
    '1',
    '1.5',
    '-1.5',
    '-1.6',
    '-0.0',
    '100',
    '100.5',
    '1e300',
    '9.2e18',
    '9223372036854775808',
    '1.9e19',
    "'nan'",
    "'inf'",
    "'-inf'",
    '2',
    '3',
  ],
  FLOAT: ['1', '1.5', "'nan'", "'inf'", '3'],
  'DECIMAL(10,2)': ['1.00', '1.50', '-1.50', '99999999.99', '3'],
  HUGEINT: ['1', '170141183460469231731687303715884105727', '-9223372036854775809', '3'],
  BOOLEAN: ['true', 'false'],
  DATE: ["'2001-01-01'", "'0044-03-15'"],
  TIMESTAMP: ["'2001-01-01 00:00:00'", "'2001-01-01 12:30:00.5'"],
};
const typed = (source: string) => (NUMERIC_SOURCES[source] ?? []).map((v) => `CAST(${v} AS ${source})`);
const TYPED_SOURCES = Object.keys(NUMERIC_SOURCES);

/** Every type × source × rule combination the corpus covers. */
function corpus(): Case[] {
  const cases: Case[] = [];
  const add = (what: string, column: ColumnSpec, source: string, values: (string | null)[]) =>
    cases.push({ what, column, source, values: [...values, null] });
  const stringColumns: [string, ColumnSpec][] = [
    ['plain', { type: 'string' }],
    ['nullable', { type: 'string', nullable: true }],
    ['control chars allowed', { type: 'string', allow_control_chars: true, nullable: true }],
    ['enum', { type: 'string', enum: ['abc', 'ABC', 'NaN', 1] }],
    ['max_length 3', { type: 'string', max_length: 3 }],
    ['max_length 1', { type: 'string', max_length: 1, allow_control_chars: true }],
  ];
  const patterns = [
    '^[A-Z]{3}$',
    '^\\d+$',
    'a.c',
    '^\\s*abc\\s*$',
    '^\\S+$',
    '^(?:ab|cd)+c?$',
    '\\bfoo\\b',
    '^\\u00e9$',
    '^\\u{1F600}',
    '^[^a-z]*$',
    '^.{2,4}$',
    '[[:]',
    '^[\\w-]+$',
    '^\\x41',
    '\\.',
    '^$',
    'b$',
    '^\\ud83d\\ude00$',
    '[\\s]',
    '(?=a)',
    '(a)\\1',
    '^\\p{L}+$',
    '(?<n>a)',
    '[^]',
    'a{1001}',
  ];
  for (const [what, col] of stringColumns) add(`string ${what}`, col, 'VARCHAR', TEXTS);
  for (const p of patterns)
    add(`string pattern ${p}`, { type: 'string', pattern: p, allow_control_chars: true }, 'VARCHAR', TEXTS);
  add('string from a date', { type: 'string', pattern: '^2001' }, 'DATE', typed('DATE'));
  for (const source of ['BIGINT', 'DOUBLE', 'BOOLEAN'])
    add(`string from ${source}`, { type: 'string' }, source, typed(source));

  const numberColumns: [string, RuleSpec][] = [
    ['plain', {}],
    ['min/max', { min: -1.5, max: 100 }],
    ['enum', { enum: [1, 2, '3', 'x', 1.5], nullable: true }],
    ['pattern', { pattern: '^1', nullable: true }],
  ];
  for (const type of ['integer', 'number'] as const) {
    for (const [what, col] of numberColumns) {
      add(`${type} ${what}`, { type, ...col }, 'VARCHAR', type === 'integer' ? INTEGER_TEXTS : NUMBER_TEXTS);
      for (const source of TYPED_SOURCES)
        add(`${type} ${what} from ${source}`, { type, ...col }, source, typed(source));
    }
  }
  const booleanColumns: [string, RuleSpec][] = [
    ['plain', {}],
    ['enum true', { enum: ['true'] }],
    ['enum none', { enum: ['yes'] }],
    ['pattern f', { pattern: '^f' }],
  ];
  for (const [what, col] of booleanColumns) {
    add(`boolean ${what}`, { type: 'boolean', ...col }, 'VARCHAR', BOOLEAN_TEXTS);
    for (const source of ['BOOLEAN', 'INTEGER', 'DOUBLE'])
      add(`boolean ${what} from ${source}`, { type: 'boolean', ...col }, source, typed(source));
  }
  const dateColumns: [string, RuleSpec][] = [
    ['plain', {}],
    ['enum', { enum: ['2001-01-01', '2001-01-01T00:00'] }],
    ['pattern', { pattern: '^2001' }],
    ['max_length', { max_length: 10 }],
  ];
  for (const type of ['date', 'timestamp'] as const) {
    for (const [what, col] of dateColumns) {
      add(`${type} ${what}`, { type, ...col }, 'VARCHAR', type === 'date' ? DATE_TEXTS : TIMESTAMP_TEXTS);
      for (const source of ['DATE', 'TIMESTAMP', 'BIGINT'])
        add(`${type} ${what} from ${source}`, { type, ...col }, source, typed(source));
    }
  }
  // Values the JavaScript validator decodes itself: JSON text (mixed JSON Lines) and bytes.
  const json = [
    '\'"abc"\'::JSON',
    '\'{"a": 1}\'::JSON',
    "'12'::JSON",
    "'null'::JSON",
    "'[1]'::JSON",
    "'true'::JSON",
  ];
  for (const type of ['string', 'integer', 'boolean'] as const)
    add(`${type} from JSON`, { type }, 'JSON', json);
  const bytes = ["'abc'::BLOB", "'\\xC3\\xA9'::BLOB", "'\\xFF\\xFE'::BLOB", "'a\\x00b'::BLOB"];
  add('string from BLOB', { type: 'string', max_length: 2 }, 'BLOB', bytes);
  add('struct into a string', { type: 'string' }, 'STRUCT(a INTEGER)', ["{'a': 1}", "{'a': NULL}"]);
  return cases;
}

function csvField(v: string | null): string {
  if (v === null) return '';
  return /[",\n\r]/.test(v) || v === '' ? `"${v.replaceAll('"', '""')}"` : v;
}

let work: string;
let engine: DuckTablesEngine;
let writer: DuckDBInstance;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'sql-validation-'));
  engine = await DuckTablesEngine.create({ threads: 1, memoryLimit: '512MB', tempDir: work });
  writer = await DuckDBInstance.create(':memory:', { threads: '1' });
});

afterAll(async () => {
  await engine?.close();
  writer?.closeSync();
  await fs.rm(work, { recursive: true, force: true });
});

/** Writes the case's table as the batch would carry it: CSV for text, Parquet or JSON Lines for typed values. */
async function tableFile(
  c: Case,
  index: number,
): Promise<{ file: string; format: 'csv' | 'parquet' | 'json' }> {
  if (c.source === 'VARCHAR') {
    const file = path.join(work, `case-${index}.csv`);
    const lines = ['id,c', ...c.values.map((v, i) => `${i + 1},${csvField(v)}`)];
    await fs.writeFile(file, `${lines.join('\n')}\n`);
    return { file, format: 'csv' };
  }
  const conn = await writer.connect();
  try {
    const rows = c.values.map((v, i) => `(${i + 1}, ${v === null ? `NULL::${c.source}` : v})`).join(', ');
    const file = path.join(work, `case-${index}.parquet`);
    await conn.run(`COPY (SELECT * FROM (VALUES ${rows}) t(id, c)) TO ${sq(file)} (FORMAT parquet)`);
    return { file, format: 'parquet' };
  } finally {
    conn.closeSync();
  }
}

interface Verdicts {
  /** Per row: the rule SQL found (null: none) and the report entry each path gives. */
  sqlRule: (string | null)[];
  js: (Violation | null)[];
  sql: (Violation | null)[];
  sourceType: string;
}

async function verdicts(c: Case, index: number): Promise<Verdicts> {
  const contract = contractSchema.parse({
    name: 'corpus',
    version: '1.0.0',
    primary_key: ['id'],
    on_bad_rows: 'quarantine',
    columns: [
      { name: 'id', type: 'integer' },
      { name: 'c', ...c.column },
    ],
  });
  const validator = compileContract(contract);
  const { file, format } = await tableFile(c, index);
  const session = await engine.session();
  try {
    const name = `case-${index}`;
    const staged = await session.stage(name, file, format, contract.columns);
    const out: Verdicts = {
      sqlRule: Array<string | null>(staged.rows).fill(null),
      js: Array<Violation | null>(staged.rows).fill(null),
      sql: Array<Violation | null>(staged.rows).fill(null),
      sourceType: '',
    };
    for await (const chunk of session.chunks(name, contract.columns)) {
      validator.validateColumns(chunk.values, chunk.rowCount, (i, v) => {
        if (v.column === 'c') out.js[chunk.start + i] = v;
      });
    }
    for await (const failing of session.failingRows(name, contract.columns)) {
      failing.rows.forEach((row, i) => {
        const rule = failing.rules.c![i]!;
        out.sqlRule[row - 1] = rule;
        if (rule !== null) out.sql[row - 1] = validator.validateValue('c', failing.values.c?.[i]) ?? null;
      });
    }
    const types = (session as unknown as { staged: { types: Map<string, string> }[] }).staged;
    out.sourceType = types[0]?.types.get('c') ?? '';
    return out;
  } finally {
    session.close();
  }
}

describe('contract checks in SQL and in JavaScript', () => {
  const cases = corpus();

  it('when every corpus value is checked both ways, then both give the same verdict, rule and message', async () => {
    const differences: string[] = [];
    let checked = 0;
    let asked = 0;
    let judged = 0;
    const kinds = new Set<string>();
    for (const [index, c] of cases.entries()) {
      const v = await verdicts(c, index);
      kinds.add(v.sourceType);
      c.values.forEach((value, row) => {
        checked++;
        const js = v.js[row] ?? null;
        const rule = v.sqlRule[row] ?? null;
        if (rule === ASK_JS) asked++;
        else if (rule !== null) judged++;
        const sqlVerdict = rule === ASK_JS ? (v.sql[row] ?? null) : rule === null ? null : v.sql[row];
        const ruleAgrees = rule === ASK_JS || rule === (js?.rule ?? null);
        if (!ruleAgrees || JSON.stringify(sqlVerdict ?? null) !== JSON.stringify(js)) {
          differences.push(
            `${c.what} (${v.sourceType}) value ${JSON.stringify(value)}: JS ${JSON.stringify(js)}, SQL rule ${rule} → ${JSON.stringify(sqlVerdict)}`,
          );
        }
      });
    }
    expect(differences).toEqual([]);
    expect(checked).toBeGreaterThan(1500);
    // The corpus really reached every kind of source column.
    for (const k of [
      'VARCHAR',
      'BIGINT',
      'INTEGER',
      'UBIGINT',
      'DOUBLE',
      'FLOAT',
      'BOOLEAN',
      'DATE',
      'TIMESTAMP',
      'BLOB',
    ])
      expect(kinds).toContain(k);
    expect([...kinds].some((k) => k.startsWith('DECIMAL'))).toBe(true);
    expect([...kinds].some((k) => k.startsWith('STRUCT'))).toBe(true);
    // Only what SQL cannot judge the same way went to JavaScript.
    expect(asked).toBeGreaterThan(0);
    expect(judged).toBeGreaterThan(checked / 4);
    expect(asked).toBeLessThan(checked / 4);
  }, 120_000);

  it('when a pattern uses what RE2 lacks or reads otherwise, then it is left to JavaScript', () => {
    for (const p of [
      '(?=a)',
      '(?!a)',
      '(?<=a)b',
      '(a)\\1',
      '^\\p{L}+$',
      '(?<n>a)',
      '[^]',
      '[]',
      'a{1001}',
      '[\\S]',
      '\\k<n>',
    ])
      expect(patternToRe2(p), p).toBeUndefined();
    expect(patternToRe2('^[A-Z]{3}$')).toBe('^[A-Z]{3}$');
    expect(patternToRe2('a.c')).toBe('a[^\\n\\r\\x{2028}\\x{2029}]c');
    expect(patternToRe2('[[:]')).toBe('[\\[:]');
  });
});

describe('rejection reports from both paths', () => {
  it('when a large batch has bad rows up to its very last row, then SQL and JavaScript validation report the same rows, keys and reasons', async () => {
    const rows = 5000;
    const lines = ['id,date,delay,distance,origin,destination'];
    for (let i = 1; i <= rows; i++) {
      let row = [String(i), '2001-01-01T10:00', String(i % 100), '500', 'SFO', 'LAX'];
      if (i % 997 === 0) row[2] = 'late'; // type
      if (i % 1009 === 0) row[4] = 'sfo'; // pattern
      if (i % 1013 === 0) row[3] = '7000'; // max
      if (i === 2500) row[0] = '2499'; // duplicate key
      if (i === rows - 1) row[1] = '2001-02-30T10:00'; // a day that does not exist
      if (i === rows) row = [String(i), '', '-5000', '0', 'S\u0000F', '"LA""X"'];
      lines.push(row.join(','));
    }
    const store = path.join(work, 'store');
    const event = await writeRawBatch(store, 'flights', 'b-large', [
      { path: 'flights.csv', role: 'TABLE', bytes: Buffer.from(`${lines.join('\n')}\n`) },
    ]);
    const { loadContract, defaultContractsDir } = await import('@tributary/contracts');
    const { fileURLToPath } = await import('node:url');
    const validator = compileContract(
      await loadContract(fileURLToPath(defaultContractsDir), 'flights', '1.0.0'),
    );
    const run = async (jsValidationMaxRows: number) => {
      const session = await engine.session();
      const dir = await fs.mkdtemp(path.join(work, 'run-'));
      try {
        const deps = {
          store: new ObjectDataStore(new FsObjectStore(store)),
          images: new SharpImageProcessor(),
          imageCeilings: { maxBytes: 1 << 20, maxPixels: 1 << 20 },
          imageConcurrency: 1,
          yieldNow: () => Promise.resolve(),
          jsValidationMaxRows,
        };
        const result = await validateBatch(deps, session, event, validator, dir, false);
        return { rejected: result.rejected, fate: result.fate, totalRows: result.totalRows };
      } finally {
        session.close();
      }
    };
    const js = await run(Number.MAX_SAFE_INTEGER);
    const sql = await run(0);
    expect(sql).toEqual(js);
    const last = sql.rejected.at(-1)!;
    expect(last.row).toBe(rows);
    expect(last.primary_key).toEqual({ id: String(rows) });
    expect(last.reasons.map((r) => r.rule)).toEqual(['not_null', 'min', 'min', 'control_chars', 'pattern']);
    // The value's own rule, then the typed conversion's safety net, as before SQL validation.
    expect(sql.rejected.find((r) => r.row === rows - 1)?.reasons.map((r) => r.rule)).toEqual([
      'type',
      'type',
    ]);
    expect(
      sql.rejected.filter((r) => r.reasons.some((x) => x.rule === 'duplicate_key')).map((r) => r.row),
    ).toEqual([2499, 2500]);
  }, 60_000);
});
