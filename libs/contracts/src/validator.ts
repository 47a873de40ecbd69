import type { ColumnType, ContractColumn, DataContract } from './schema.ts';

/** The rule a value or row broke; stable names, used in rejection reports and metrics. */
export type ViolationRule =
  | 'missing_column'
  | 'not_null'
  | 'type'
  | 'min'
  | 'max'
  | 'enum'
  | 'pattern'
  | 'max_length'
  | 'control_chars'
  | 'duplicate_key'
  | 'unique'
  | 'image';

/** Why a row is refused: the column (null for row-level rules), the rule and a readable message. */
export interface Violation {
  column: string | null;
  rule: ViolationRule;
  message: string;
}

/**
 * A contract compiled once into per-column checks. Values may come typed (JSON, Parquet: numbers,
 * bigints, booleans, strings) or as text (CSV): each type accepts its own JS type and its canonical
 * text form, so one validator serves every table format. `undefined` means the column is absent
 * from the source, `null` an empty value.
 */
export interface RowValidator {
  readonly contract: DataContract;
  /** Column names in contract order. */
  readonly columns: readonly string[];
  /** Every problem of one row (empty when the row is valid). */
  validateRow(row: Readonly<Record<string, unknown>>): Violation[];
  /** The problem of one value of a contract column (`undefined`: the column is absent), if any. */
  validateValue(column: string, value: unknown): Violation | undefined;
  /**
   * Column-major validation of `rowCount` rows: `columns[name][i]` is row i's value, a missing
   * array means the column is absent. Calls `onViolation` for every problem; returns the number of
   * rows with at least one.
   */
  validateColumns(
    columns: Readonly<Record<string, ArrayLike<unknown> | undefined>>,
    rowCount: number,
    onViolation: (rowIndex: number, violation: Violation) => void,
  ): number;
}

type Check = (value: unknown) => Violation | undefined;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** C0 control characters except tab (U+0009): NUL, CR, LF, ESC, ... */
// eslint-disable-next-line no-control-regex
const CONTROL_CHAR = /[\u0000-\u0008\u000A-\u001F]/;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP_TEXT =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Compiles `contract` into a validator; do it once per contract and reuse it for every row. */
export function compileContract(contract: DataContract): RowValidator {
  const checks = contract.columns.map((col) => ({ name: col.name, check: compileColumn(col) }));
  const columns = contract.columns.map((c) => c.name);
  const byName = new Map(checks.map(({ name, check }) => [name, check]));
  return {
    contract,
    columns,
    validateValue(column, value) {
      const check = byName.get(column);
      // A programmer's invariant: callers ask only for the contract's own columns.
      if (!check) throw new Error(`column ${column} is not in contract ${contract.name}`);
      return check(value);
    },
    validateRow(row) {
      const out: Violation[] = [];
      for (const { name, check } of checks) {
        const v = check(row[name]);
        if (v) out.push(v);
      }
      return out;
    },
    validateColumns(data, rowCount, onViolation) {
      const bad = new Uint8Array(rowCount);
      for (const { name, check } of checks) {
        const values = data[name];
        if (values === undefined) {
          const v = check(undefined)!;
          for (let i = 0; i < rowCount; i++) {
            bad[i] = 1;
            onViolation(i, v);
          }
          continue;
        }
        for (let i = 0; i < rowCount; i++) {
          const v = check(values[i]);
          if (v) {
            bad[i] = 1;
            onViolation(i, v);
          }
        }
      }
      let n = 0;
      for (let i = 0; i < rowCount; i++) n += bad[i]!;
      return n;
    },
  };
}

function compileColumn(col: ContractColumn): Check {
  const name = col.name;
  const missing: Violation = {
    column: name,
    rule: 'missing_column',
    message: `column ${name} is missing from the table`,
  };
  const isNull: Violation = { column: name, rule: 'not_null', message: `${name} is empty but not nullable` };
  const parse = parserFor(col.type);
  const rules = valueRules(col);
  return (value) => {
    if (value === undefined) return missing;
    if (value === null) return col.nullable ? undefined : isNull;
    const parsed = parse(value);
    if (parsed === INVALID) {
      return { column: name, rule: 'type', message: `${name}: ${show(value)} is not a valid ${col.type}` };
    }
    for (const rule of rules) {
      const v = rule(parsed, value);
      if (v) return v;
    }
    return undefined;
  };
}

const INVALID = Symbol('invalid');
type Parsed = string | number | boolean;

/** Turns an accepted value into the form the value rules compare (number, string or boolean). */
function parserFor(type: ColumnType): (value: unknown) => Parsed | typeof INVALID {
  switch (type) {
    case 'string':
      return (v) => (typeof v === 'string' ? v : INVALID);
    case 'integer':
      return (v) => {
        if (typeof v === 'bigint') return v >= INT64_MIN && v <= INT64_MAX ? Number(v) : INVALID;
        if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) <= 2 ** 63 ? v : INVALID;
        if (typeof v === 'string' && INTEGER_TEXT.test(v)) {
          const big = BigInt(v);
          return big >= INT64_MIN && big <= INT64_MAX ? Number(big) : INVALID;
        }
        return INVALID;
      };
    case 'number':
      return (v) => {
        if (typeof v === 'number') return Number.isFinite(v) ? v : INVALID;
        if (typeof v === 'bigint') return Number(v);
        if (typeof v === 'string' && NUMBER_TEXT.test(v)) {
          const n = Number(v);
          return Number.isFinite(n) ? n : INVALID;
        }
        return INVALID;
      };
    case 'boolean':
      return (v) => {
        if (typeof v === 'boolean') return v;
        if (typeof v === 'string') {
          const lower = v.toLowerCase();
          if (lower === 'true') return true;
          if (lower === 'false') return false;
        }
        return INVALID;
      };
    case 'date':
      return (v) => {
        if (typeof v !== 'string') return INVALID;
        const m = DATE_TEXT.exec(v);
        return m && validDate(+m[1]!, +m[2]!, +m[3]!) ? v : INVALID;
      };
    case 'timestamp':
      return (v) => {
        if (typeof v !== 'string') return INVALID;
        const m = TIMESTAMP_TEXT.exec(v);
        if (!m || !validDate(+m[1]!, +m[2]!, +m[3]!)) return INVALID;
        return +m[4]! < 24 && +m[5]! < 60 && +(m[6] ?? 0) < 60 ? v : INVALID;
      };
  }
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = [
    31,
    y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28,
    31,
    30,
    31,
    30,
    31,
    31,
    30,
    31,
    30,
    31,
  ];
  return d <= days[m - 1]!;
}

function valueRules(col: ContractColumn): ((parsed: Parsed, raw: unknown) => Violation | undefined)[] {
  const name = col.name;
  const rules: ((parsed: Parsed, raw: unknown) => Violation | undefined)[] = [];
  // First, so the report names the control character rather than a pattern it also breaks.
  if (col.type === 'string' && !col.allow_control_chars) {
    rules.push((p) => {
      if (typeof p !== 'string') return undefined;
      const m = CONTROL_CHAR.exec(p);
      if (!m) return undefined;
      const code = m[0].charCodeAt(0);
      return {
        column: name,
        rule: 'control_chars',
        message: `${name}: control character U+${code.toString(16).toUpperCase().padStart(4, '0')}${CONTROL_NAMES[code] ? ` (${CONTROL_NAMES[code]})` : ''} at character ${m.index + 1}; set allow_control_chars: true on the column to accept it`,
      };
    });
  }
  if (col.min !== undefined) {
    const min = col.min;
    rules.push((p) =>
      (p as number) < min
        ? { column: name, rule: 'min', message: `${name}: ${p} is below the minimum ${min}` }
        : undefined,
    );
  }
  if (col.max !== undefined) {
    const max = col.max;
    rules.push((p) =>
      (p as number) > max
        ? { column: name, rule: 'max', message: `${name}: ${p} is above the maximum ${max}` }
        : undefined,
    );
  }
  if (col.enum !== undefined) {
    const numeric = col.type === 'integer' || col.type === 'number';
    const allowed = new Set<Parsed>(col.enum.map((e) => (numeric ? Number(e) : String(e))));
    const list = col.enum.map((e) => String(e)).join(', ');
    rules.push((p, raw) =>
      allowed.has(typeof p === 'boolean' ? String(p) : p)
        ? undefined
        : { column: name, rule: 'enum', message: `${name}: ${show(raw)} is not one of ${list}` },
    );
  }
  if (col.pattern !== undefined) {
    const re = new RegExp(col.pattern, 'u');
    rules.push((p, raw) =>
      re.test(String(p))
        ? undefined
        : { column: name, rule: 'pattern', message: `${name}: ${show(raw)} does not match ${col.pattern}` },
    );
  }
  if (col.max_length !== undefined) {
    const max = col.max_length;
    rules.push((p) =>
      typeof p === 'string' && p.length > max
        ? {
            column: name,
            rule: 'max_length',
            message: `${name}: ${p.length} characters, at most ${max} allowed`,
          }
        : undefined,
    );
  }
  return rules;
}

const CONTROL_NAMES: Record<number, string> = { 0: 'NUL', 10: 'LF', 13: 'CR', 27: 'ESC' };

/** A value as a report shows it: short, quoted when text. */
function show(value: unknown): string {
  const plain =
    Array.isArray(value) ||
    (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype);
  const text =
    typeof value === 'string' || plain
      ? JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))
      : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
