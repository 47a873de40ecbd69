import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  compileContract,
  contractSchema,
  defaultContractsDir,
  loadContract,
  type DataContractInput,
} from '../src/index.ts';

const dir = fileURLToPath(defaultContractsDir);

const base: DataContractInput = {
  name: 'things',
  version: '1.0.0',
  primary_key: ['id'],
  on_bad_rows: 'quarantine',
  columns: [
    { name: 'id', type: 'integer', min: 1 },
    { name: 'label', type: 'string', enum: ['a', 'b'] },
    { name: 'score', type: 'number', nullable: true, min: 0, max: 1 },
    { name: 'ok', type: 'boolean', nullable: true },
    { name: 'day', type: 'date', nullable: true },
    { name: 'at', type: 'timestamp', nullable: true },
    { name: 'code', type: 'string', nullable: true, pattern: '^[A-Z]{3}$', max_length: 3 },
  ],
};
const validator = compileContract(contractSchema.parse(base));
const good = {
  id: '7',
  label: 'a',
  score: '0.5',
  ok: 'TRUE',
  day: '2024-02-29',
  at: '2024-01-01T10:00:00Z',
  code: 'ABC',
};

describe('compileContract', () => {
  it('when a row follows the contract as text (CSV) or typed values (JSON, Parquet), then it has no violation', () => {
    expect(validator.validateRow(good)).toEqual([]);
    expect(
      validator.validateRow({
        id: 7n,
        label: 'b',
        score: 1,
        ok: false,
        day: null,
        at: '2024-01-01 10:00:00.123',
        code: null,
      }),
    ).toEqual([]);
  });

  it.each([
    ['id', null, 'not_null'],
    ['id', '0', 'min'],
    ['id', '1.5', 'type'],
    ['id', '99999999999999999999', 'type'],
    ['label', 'c', 'enum'],
    ['label', 5, 'type'],
    ['score', '1.01', 'max'],
    ['score', 'NaN', 'type'],
    ['ok', 'yes', 'type'],
    ['day', '2023-02-29', 'type'],
    ['at', '2024-01-01T25:00:00', 'type'],
    ['code', 'abc', 'pattern'],
    ['code', 'ABCD', 'pattern'],
    ['id', undefined, 'missing_column'],
  ] as const)('when %s is %j, then the row breaks rule %s', (column, value, rule) => {
    const row: Record<string, unknown> = { ...good, [column]: value };
    const violations = validator.validateRow(row);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ column, rule });
    expect(violations[0]!.message).toContain(column);
  });

  it('when rows are validated column by column, then each bad row is reported with all its reasons', () => {
    const columns = {
      id: ['1', '2', '-3'],
      label: ['a', 'z', 'z'],
      score: [null, null, '2'],
      ok: [null, null, null],
      day: [null, null, null],
      at: [null, null, null],
      code: [null, null, null],
    };
    const seen: [number, string][] = [];
    const bad = validator.validateColumns(columns, 3, (i, v) => seen.push([i, v.rule]));
    expect(bad).toBe(2);
    expect(seen.sort()).toEqual([
      [1, 'enum'],
      [2, 'enum'],
      [2, 'max'],
      [2, 'min'],
    ]);
  });

  it.each([
    ['NUL', 'bad\u0000name', 'U+0000 (NUL) at character 4'],
    ['LF', 'two\nlines', 'U+000A (LF) at character 4'],
    ['CR', 'x\r', 'U+000D (CR) at character 2'],
    ['ESC', '\u001b[31mred', 'U+001B (ESC) at character 1'],
    ['BEL', 'ding\u0007', 'U+0007 at character 5'],
  ])(
    'when a string value holds a %s control character, then the row breaks rule control_chars naming it',
    (_what, value, where) => {
      const text = compileContract(
        contractSchema.parse({
          ...base,
          columns: [
            { name: 'id', type: 'integer' },
            { name: 'note', type: 'string' },
          ],
        }),
      );
      const violations = text.validateRow({ id: '1', note: value });
      expect(violations).toEqual([
        { column: 'note', rule: 'control_chars', message: expect.stringContaining(where) as string },
      ]);
      // Typed sources (JSON Lines, Parquet) give the same strings: same verdict column by column.
      const seen: string[] = [];
      expect(text.validateColumns({ id: [1n], note: [value] }, 1, (_i, v) => seen.push(v.rule))).toBe(1);
      expect(seen).toEqual(['control_chars']);
    },
  );

  it('when a string holds a tab, or its column sets allow_control_chars, then control characters pass', () => {
    const c = (allow: boolean) =>
      compileContract(
        contractSchema.parse({
          ...base,
          columns: [
            { name: 'id', type: 'integer' },
            { name: 'note', type: 'string', ...(allow ? { allow_control_chars: true } : {}) },
          ],
        }),
      );
    expect(c(false).validateRow({ id: '1', note: 'a\tb' })).toEqual([]);
    expect(c(true).validateRow({ id: '1', note: 'line 1\r\nline 2\u0000' })).toEqual([]);
    expect(() =>
      contractSchema.parse({
        ...base,
        columns: [{ name: 'id', type: 'integer', allow_control_chars: true }],
      }),
    ).toThrow(/allow_control_chars applies to string columns/);
  });

  it('when a table lacks a declared column, then every row is bad for it', () => {
    const seen: number[] = [];
    const { code: _code, ...rest } = Object.fromEntries(Object.entries(good).map(([k, v]) => [k, [v, v]]));
    expect(validator.validateColumns(rest, 2, (i) => seen.push(i))).toBe(2);
    expect(seen).toEqual([0, 1]);
  });
});

describe('contract files', () => {
  it('when a contract makes a nullable or float column its key, then loading it fails naming the column', () => {
    const bad = { ...base, primary_key: ['score'] };
    const parsed = contractSchema.safeParse(bad);
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain('primary key column score');
  });

  it('when the repository contracts are loaded, then they compile and accept a sample row', async () => {
    const penguins = compileContract(await loadContract(dir, 'penguins', '1.0.0'));
    expect(
      penguins.validateRow({
        id: 'P0001',
        species: 'Adelie',
        island: 'Dream',
        beak_length_mm: '39.1',
        beak_depth_mm: null,
        flipper_length_mm: 181,
        body_mass_g: 3750,
        sex: 'MALE',
        image: null,
      }),
    ).toEqual([]);
    const flights = compileContract(await loadContract(dir, 'flights', '1.0.0'));
    expect(
      flights.validateRow({
        id: 1n,
        date: '2001-01-01 00:01:00',
        delay: 33n,
        distance: 2176n,
        origin: 'LAS',
        destination: 'PHL',
      }),
    ).toEqual([]);
  });
});
