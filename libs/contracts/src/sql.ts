import type { ContractColumn } from './schema.ts';
import type { ViolationRule } from './validator.ts';

/**
 * How a table engine column reaches the validator, by its DuckDB type. The JavaScript validator
 * and the SQL checks below must see the same value, so both read this one classification:
 * - `varchar`: text as is; `text`: any other type shown as its DuckDB text (DATE, TIMESTAMP, ...);
 * - `boolean`; `int`: 8 to 32-bit integers (JS numbers); `bigint`: BIGINT (in int64 range);
 *   `ubigint`: UBIGINT (may exceed it); `double`: DOUBLE; `to_double`: FLOAT, DECIMAL, HUGEINT
 *   (converted to DOUBLE first, as the JS validator gets them);
 * - `nested` (JSON, STRUCT, MAP, lists, UNION) and `blob`: decoded in JavaScript (JSON text,
 *   UTF-8 bytes), so SQL leaves their non-null values to the JavaScript validator.
 */
export type SourceKind =
  'varchar' | 'text' | 'boolean' | 'int' | 'bigint' | 'ubigint' | 'double' | 'to_double' | 'nested' | 'blob';

const NESTED_TYPE = /^(JSON|STRUCT|MAP|UNION)\b|\]$/;

/** The kind of a DuckDB column type (as DESCRIBE prints it). */
export function sourceKind(duckType: string): SourceKind {
  if (duckType === 'VARCHAR') return 'varchar';
  if (duckType === 'BOOLEAN') return 'boolean';
  if (/^(TINYINT|SMALLINT|INTEGER|UTINYINT|USMALLINT|UINTEGER)$/.test(duckType)) return 'int';
  if (duckType === 'BIGINT') return 'bigint';
  if (duckType === 'UBIGINT') return 'ubigint';
  if (duckType === 'DOUBLE') return 'double';
  if (/^(FLOAT|REAL|DECIMAL.*|HUGEINT|UHUGEINT)$/.test(duckType)) return 'to_double';
  if (NESTED_TYPE.test(duckType)) return 'nested';
  if (duckType === 'BLOB') return 'blob';
  return 'text';
}

/** What a rule expression yields for a value SQL leaves to the JavaScript validator. */
export const ASK_JS = '?';

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
const lit = (text: string) => `'${text.replaceAll("'", "''")}'`;
const dbl = (n: number) => `CAST(${lit(String(n))} AS DOUBLE)`;

// The validator's text forms (validator.ts), in RE2 syntax; matched whole.
const INTEGER_RE = '[+-]?[0-9]+';
const NUMBER_RE = '[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?';
const DATE_RE = '[0-9]{4}-[0-9]{2}-[0-9]{2}';
const TIMESTAMP_RE =
  '[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]{1,9})?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?';
const BOOLEAN_RE = '[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]';
/** C0 control characters except tab, as validator.ts's CONTROL_CHAR. */
const CONTROL_RE = '[\\x{0}-\\x{8}\\x{A}-\\x{1F}]';
/** Characters outside the BMP: two UTF-16 code units each in JavaScript's String.length. */
const ASTRAL_RE = '[^\\x{10000}-\\x{10FFFF}]';

/**
 * One SQL expression per contract column giving, for a row, the rule its value breaks (the same
 * rule, checked in the same order, as `compileContract`'s validator), NULL when it breaks none, or
 * `ASK_JS` for a value only the JavaScript validator can judge (nested or binary source values,
 * patterns RE2 cannot express the same way). `sourceType` is the column's DuckDB type in the
 * table, undefined when the table lacks the column.
 *
 * The expression is a filter: the engine runs it over every row, and only the rows it flags cross
 * into JavaScript, where the validator turns each flagged value into its report entry.
 */
export function columnRuleSql(
  col: ContractColumn,
  sourceType: string | undefined,
  /** Whether the engine compiles a translated pattern (RE2 has size limits); default yes. */
  re2Usable: (re2: string) => boolean = () => true,
  /** The value is known to have its type's text form (`textFormRe2`): that check is left out. */
  formKnown = false,
): string {
  if (sourceType === undefined) return lit('missing_column');
  const v = q(col.name);
  const kind = sourceKind(sourceType);
  const whenNull = col.nullable ? 'NULL' : lit('not_null');
  const arms: Arm[] =
    kind === 'nested' || kind === 'blob'
      ? [['true', ASK_JS]]
      : typeAndRules(col, kind, v, re2Usable, formKnown).flat();
  const whens = arms.map(([cond, rule]) => `WHEN ${cond} THEN ${lit(rule)}`);
  return `CASE WHEN ${v} IS NULL THEN ${whenNull} ${whens.join(' ')} END`;
}

type Arm = [condition: string, rule: ViolationRule | typeof ASK_JS];

function typeAndRules(
  col: ContractColumn,
  kind: SourceKind,
  v: string,
  re2Usable: (re2: string) => boolean,
  formKnown: boolean,
): Arm[][] {
  const textual = kind === 'varchar' || kind === 'text';
  const s = kind === 'varchar' ? v : `CAST(${v} AS VARCHAR)`;
  const numeric = kind === 'int' || kind === 'bigint' || kind === 'ubigint' || kind === 'double';
  const d = kind === 'to_double' ? `CAST(${v} AS DOUBLE)` : v;
  const always: Arm[][] = [[['true', 'type']]];
  switch (col.type) {
    case 'string':
      return textual ? [[], stringRules(col, s, re2Usable)] : always;
    case 'date':
    case 'timestamp': {
      if (!textual) return always;
      const bad =
        col.type === 'date'
          ? `NOT regexp_full_match(${s}, ${lit(DATE_RE)}) OR TRY_CAST(${s} AS DATE) IS NULL`
          : `NOT regexp_full_match(${s}, ${lit(TIMESTAMP_RE)}) OR NOT coalesce(${timestampFields(s)}, false)`;
      return [[[bad, 'type']], stringRules(col, s, re2Usable)];
    }
    case 'boolean': {
      if (kind === 'boolean') return [[], booleanRules(col, v)];
      if (!textual) return always;
      return [
        [[`NOT regexp_full_match(${s}, ${lit(BOOLEAN_RE)})`, 'type']],
        booleanRules(col, `lower(${s}) = 'true'`),
      ];
    }
    case 'integer': {
      if (textual) {
        const form = formKnown ? '' : `NOT regexp_full_match(${s}, ${lit(INTEGER_RE)}) OR `;
        const bad = `${form}TRY_CAST(${s} AS BIGINT) IS NULL`;
        return [[[bad, 'type']], numberRules(col, `CAST(TRY_CAST(${s} AS BIGINT) AS DOUBLE)`)];
      }
      if (kind === 'int' || kind === 'bigint') return [[], numberRules(col, `CAST(${v} AS DOUBLE)`)];
      if (kind === 'ubigint')
        return [[[`${v} > 9223372036854775807`, 'type']], numberRules(col, `CAST(${v} AS DOUBLE)`)];
      if (kind === 'double' || kind === 'to_double') {
        // JavaScript takes a number as an integer when it is one and |n| <= 2^63.
        const bad = `NOT (isfinite(${d}) AND ${d} = trunc(${d}) AND abs(${d}) <= 9223372036854775808.0)`;
        return [[[bad, 'type']], numberRules(col, d)];
      }
      return always;
    }
    case 'number': {
      if (textual) {
        const n = `TRY_CAST(${s} AS DOUBLE)`;
        const form = formKnown ? '' : `NOT regexp_full_match(${s}, ${lit(NUMBER_RE)}) OR `;
        const bad = `${form}NOT coalesce(isfinite(${n}), false)`;
        return [[[bad, 'type']], numberRules(col, n)];
      }
      if (numeric && kind !== 'double') return [[], numberRules(col, `CAST(${v} AS DOUBLE)`)];
      if (kind === 'double' || kind === 'to_double')
        return [[[`NOT isfinite(${d})`, 'type']], numberRules(col, d)];
      return always;
    }
  }
}

/**
 * The RE2 form a text value of an integer or number column must have (matched whole), when the
 * column's source is text; undefined otherwise. One regular expression over a row's values joined
 * by commas (which these forms never contain, so each value keeps its place; an empty or NULL
 * value fails its place) costs less than one per value: the engine checks the forms of a whole
 * row at once and runs `columnRuleSql(..., formKnown = true)` on rows that have them.
 */
export function textFormRe2(col: ContractColumn, sourceType: string | undefined): string | undefined {
  if (sourceType === undefined || sourceKind(sourceType) !== 'varchar') return undefined;
  if (col.type === 'integer') return INTEGER_RE;
  if (col.type === 'number') return NUMBER_RE;
  return undefined;
}

/** Hours, minutes and seconds in range and a real calendar day, for text that has the timestamp form. */
function timestampFields(s: string): string {
  // TRY_CAST throughout: DuckDB may evaluate both sides of the OR that guards this with the form.
  return `(TRY_CAST(substr(${s}, 1, 10) AS DATE) IS NOT NULL AND TRY_CAST(substr(${s}, 12, 2) AS INTEGER) < 24
    AND TRY_CAST(substr(${s}, 15, 2) AS INTEGER) < 60
    AND (substr(${s}, 17, 1) <> ':' OR TRY_CAST(substr(${s}, 18, 2) AS INTEGER) < 60))`;
}

/** control_chars, enum, pattern, max_length: for values the validator holds as text. */
function stringRules(col: ContractColumn, s: string, re2Usable: (re2: string) => boolean): Arm[] {
  const arms: Arm[] = [];
  if (col.type === 'string' && !col.allow_control_chars)
    arms.push([`regexp_matches(${s}, ${lit(CONTROL_RE)})`, 'control_chars']);
  if (col.enum !== undefined)
    arms.push([`${s} NOT IN (${col.enum.map((e) => lit(String(e))).join(', ')})`, 'enum']);
  if (col.pattern !== undefined) {
    const re2 = patternToRe2(col.pattern);
    arms.push(
      re2 === undefined || !re2Usable(re2)
        ? ['true', ASK_JS]
        : [`NOT regexp_matches(${s}, ${lit(re2)})`, 'pattern'],
    );
  }
  if (col.max_length !== undefined) {
    // JavaScript counts UTF-16 code units: a character outside the BMP counts twice. The byte
    // length bounds that count from above, so the exact count runs only on long values.
    const n = col.max_length;
    arms.push([
      `strlen(${s}) > ${n} AND length(${s}) + length(regexp_replace(${s}, ${lit(ASTRAL_RE)}, '', 'g')) > ${n}`,
      'max_length',
    ]);
  }
  return arms;
}

/** min, max, enum (and pattern, left to JavaScript) for values the validator holds as numbers. */
function numberRules(col: ContractColumn, n: string): Arm[] {
  const arms: Arm[] = [];
  if (col.min !== undefined) arms.push([`${n} < ${dbl(col.min)}`, 'min']);
  if (col.max !== undefined) arms.push([`${n} > ${dbl(col.max)}`, 'max']);
  if (col.enum !== undefined) {
    const allowed = col.enum.map(Number).filter((x) => Number.isFinite(x));
    arms.push([allowed.length === 0 ? 'true' : `${n} NOT IN (${allowed.map(dbl).join(', ')})`, 'enum']);
  }
  // A pattern on a number tests the number's JavaScript text form: left to JavaScript.
  if (col.pattern !== undefined) arms.push(['true', ASK_JS]);
  return arms;
}

/** enum and pattern for booleans: both only ever see the text 'true' or 'false'. */
function booleanRules(col: ContractColumn, b: string): Arm[] {
  const arms: Arm[] = [];
  const when = (ok: (text: 'true' | 'false') => boolean): string | undefined => {
    const t = ok('true');
    const f = ok('false');
    if (t && f) return undefined;
    if (!t && !f) return 'true';
    return t ? `NOT (${b})` : `(${b})`;
  };
  if (col.enum !== undefined) {
    const allowed = new Set(col.enum.map(String));
    const cond = when((text) => allowed.has(text));
    if (cond) arms.push([cond, 'enum']);
  }
  if (col.pattern !== undefined) {
    const re = new RegExp(col.pattern, 'u');
    const cond = when((text) => re.test(text));
    if (cond) arms.push([cond, 'pattern']);
  }
  return arms;
}

/** JavaScript's \s (with the u flag) as an RE2 class body. */
const JS_SPACE =
  '\\t\\n\\x{B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}';

/**
 * A contract pattern (a JavaScript regular expression with the `u` flag, used as `test`, a search)
 * as an RE2 pattern for DuckDB's `regexp_matches` that matches exactly the same strings, or
 * undefined when the pattern uses what RE2 lacks or reads otherwise (look-arounds, back-references,
 * Unicode property classes, named groups, very large repeats, empty classes). Undefined sends the
 * column's values to the JavaScript validator: slower, never wrong.
 */
export function patternToRe2(pattern: string): string | undefined {
  let out = '';
  let i = 0;
  const escape = (inClass: boolean): string | undefined => {
    const c = pattern[i + 1];
    if (c === undefined) return undefined;
    i += 2;
    if ('dDwW'.includes(c)) return `\\${c}`; // ASCII in both (no i flag)
    if (c === 's') return inClass ? JS_SPACE : `[${JS_SPACE}]`;
    if (c === 'S') return inClass ? undefined : `[^${JS_SPACE}]`;
    if (c === 'b' || c === 'B') return inClass ? undefined : `\\${c}`;
    if ('tnrfv'.includes(c)) return `\\${c}`;
    if (c === '0' && !/[0-9]/.test(pattern[i] ?? '')) return '\\x{0}';
    if (c === 'x' && /^[0-9a-fA-F]{2}$/.test(pattern.slice(i, i + 2))) {
      const hex = pattern.slice(i, i + 2);
      i += 2;
      return `\\x{${hex}}`;
    }
    if (c === 'u') {
      const braced = /^\{([0-9a-fA-F]{1,6})\}/.exec(pattern.slice(i));
      const plain = /^[0-9a-fA-F]{4}/.exec(pattern.slice(i));
      if (braced) {
        i += braced[0].length;
        return `\\x{${braced[1]}}`;
      }
      if (plain) {
        // A surrogate pair written as two escapes is one astral character.
        const hi = parseInt(plain[0], 16);
        const low = /^\\u([dD][c-fC-F][0-9a-fA-F]{2})/.exec(pattern.slice(i + 4));
        if (hi >= 0xd800 && hi <= 0xdbff && low) {
          i += 4 + low[0].length;
          const cp = (hi - 0xd800) * 0x400 + (parseInt(low[1]!, 16) - 0xdc00) + 0x10000;
          return `\\x{${cp.toString(16)}}`;
        }
        if (hi >= 0xd800 && hi <= 0xdfff) return undefined;
        i += 4;
        return `\\x{${plain[0]}}`;
      }
      return undefined;
    }
    // With the u flag only syntax characters (and '/', '-') may be escaped: all literal in RE2 too.
    if ('^$\\.*+?()[]{}|/-'.includes(c)) return `\\${c}`;
    return undefined; // back-references, \p{...}, \k<...>, \c...
  };
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const e = escape(false);
      if (e === undefined) return undefined;
      out += e;
    } else if (c === '[') {
      i++;
      let body = '';
      if (pattern[i] === '^') {
        body = '^';
        i++;
      }
      if (pattern[i] === ']') return undefined; // [] and [^]: RE2 reads ']' as a member
      for (;;) {
        const k = pattern[i];
        if (k === undefined) return undefined;
        if (k === ']') break;
        if (k === '\\') {
          const e = escape(true);
          if (e === undefined) return undefined;
          body += e;
          continue;
        }
        // '[' is a plain member in JavaScript; RE2 may read "[:" as a POSIX class.
        body += k === '[' ? '\\[' : k;
        i += k.length;
      }
      i++;
      out += `[${body}]`;
    } else if (c === '(') {
      if (pattern[i + 1] === '?') {
        if (pattern[i + 2] !== ':') return undefined; // look-arounds and named groups
        out += '(?:';
        i += 3;
      } else {
        out += '(';
        i++;
      }
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (!m || Number(m[1]) > 1000 || (m[3] !== undefined && m[3] !== '' && Number(m[3]) > 1000))
        return undefined;
      out += m[0];
      i += m[0].length;
    } else if (c === '.') {
      out += '[^\\n\\r\\x{2028}\\x{2029}]';
      i++;
    } else {
      const cp = pattern.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      out += ch;
      i += ch.length;
    }
  }
  return out;
}
