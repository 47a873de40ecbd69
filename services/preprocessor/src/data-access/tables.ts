import { createReadStream } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { mkdtemp, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  columnRuleSql,
  patternToRe2,
  sourceKind,
  textFormRe2,
  type ColumnType,
  type ContractColumn,
} from '@tributary/contracts';
import { AppError } from '@tributary/errors';
import type {
  FailingRows,
  PartStats,
  PartZone,
  RowRef,
  TableChunk,
  TableFormat,
  TableSession,
  TablesEngine,
} from '../domain/ports.ts';

const SQL_TYPE: Record<ColumnType, string> = {
  string: 'VARCHAR',
  integer: 'BIGINT',
  number: 'DOUBLE',
  boolean: 'BOOLEAN',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
};

/**
 * The master's Parquet settings. Fixed, with rows in primary-key order and no timestamps in the
 * file, so the same rows give the same bytes on every run (invariant 5).
 */
const PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880, PARQUET_VERSION 'V1'";

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
const lit = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** Embedded DuckDB reading batch tables (CSV, JSON Lines, Parquet) and writing master parts. */
export class DuckTablesEngine implements TablesEngine {
  private readonly instance: DuckDBInstance;
  private readonly spillDir: string;
  private constructor(instance: DuckDBInstance, spillDir: string) {
    this.instance = instance;
    this.spillDir = spillDir;
  }

  static async create(opts: {
    threads: number;
    memoryLimit: string;
    tempDir: string;
  }): Promise<DuckTablesEngine> {
    // A spill folder of its own: replicas on one host must not share DuckDB's temp files.
    const spillDir = await mkdtemp(path.join(opts.tempDir, 'preprocessor-duckdb-'));
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(opts.threads),
      memory_limit: opts.memoryLimit,
      temp_directory: spillDir,
      // Order of rows as read is the order of the file: row numbers in reports rely on it.
      preserve_insertion_order: 'true',
    });
    return new DuckTablesEngine(instance, spillDir);
  }

  async session(): Promise<TableSession> {
    const conn = await this.instance.connect();
    // Timestamps without an offset are UTC. Without the ICU extension DuckDB works in UTC anyway;
    // with it, the session zone must be pinned so the machine's zone never leaks into the data.
    await conn.run("SET TimeZone = 'UTC'").catch(() => undefined);
    return new DuckTableSession(conn);
  }

  async close(): Promise<void> {
    this.instance.closeSync();
    await rm(this.spillDir, { recursive: true, force: true });
  }
}

// A staged table's row number is its rowid + 1: it is written in the file's order
// (preserve_insertion_order), by a parallel scan (WITH ORDINALITY would make the scan serial).
const FAIL = '__tributary_fail';
const MISMATCH = '__tributary_mismatch';
/** The error that stops a clean part's scan at the first row failing a check. */
const NOT_CLEAN = 'tributary: a row fails the contract';

interface StagedTable {
  /** The batch table in the master's types, one row per file row, with its check flags. */
  table: string;
  file: string;
  /** The file as a table function: raw values are read again from it when needed. */
  reader: string;
  /** DuckDB type of each file column as read. */
  types: Map<string, string>;
  /** The contract's translated patterns DuckDB compiles (checked once, at staging). */
  usable: Set<string>;
}

class DuckTableSession implements TableSession {
  private readonly staged: StagedTable[] = [];
  private readonly conn: DuckDBConnection;

  constructor(conn: DuckDBConnection) {
    this.conn = conn;
  }

  /**
   * Reads the file once, converting each value to the master's type and running the contract's
   * checks in the same scan: only the typed table is kept (a 1M x 32 CSV as text costs twice the
   * memory), and raw values are read again only for the rows a check flags.
   */
  async stage(
    file: string,
    localPath: string,
    format: TableFormat,
    columns: readonly ContractColumn[],
  ): Promise<{ rows: number; columns: string[] }> {
    const table = `batch_${this.staged.length}`;
    await this.readingTable(file, localPath, format, async () => {
      const { t, select } = await this.checkedSelect(table, file, localPath, format, columns);
      await this.conn.run(`CREATE TEMP TABLE ${table} AS ${select}`);
      this.staged.push(t);
    });
    const t = this.staged.at(-1)!;
    const count = await this.conn.runAndReadAll(`SELECT count(*)::INTEGER FROM ${table}`);
    return { rows: Number(count.getRows()[0]![0]), columns: [...t.types.keys()] };
  }

  async writeCleanPart(
    file: string,
    localPath: string,
    format: TableFormat,
    columns: readonly ContractColumn[],
    primaryKey: readonly string[],
    batchId: string,
    out: string,
  ): Promise<PartStats | undefined> {
    const names = columns.map((c) => q(c.name)).join(', ');
    const clean = await this.readingTable(file, localPath, format, async () => {
      const { select } = await this.checkedSelect('clean', file, localPath, format, columns);
      try {
        // One streaming scan from the file to the part: no table of the batch is held, and the
        // first row that fails a check stops it.
        await this.conn.run(
          `COPY (SELECT ${names}, ${lit(batchId)} AS _batch_id FROM (${select})
                  WHERE CASE WHEN ${q(FAIL)} OR ${q(MISMATCH)} THEN error(${lit(NOT_CLEAN)}) ELSE true END)
             TO ${lit(out)} (${PARQUET_OPTIONS})`,
        );
        return true;
      } catch (err) {
        if (err instanceof Error && err.message.includes(NOT_CLEAN)) return false;
        throw err;
      }
    });
    if (!clean) {
      await rm(out, { force: true });
      return undefined;
    }
    const part = `read_parquet(${lit(out)}, file_row_number = true)`;
    const ordered = await this.inKeyOrder(part, 'file_row_number', primaryKey);
    // Keys strictly increasing cannot repeat; otherwise the part is sorted, which needs them unique.
    const distinct = [
      ...(ordered ? [] : [[...primaryKey]]),
      ...columns
        .filter((c) => c.unique && !(primaryKey.length === 1 && primaryKey[0] === c.name))
        .map((c) => [c.name]),
    ];
    if (await this.anyRepeated(part, distinct)) {
      await rm(out, { force: true });
      return undefined;
    }
    if (!ordered) {
      const sorted = `${out}.sorted`;
      await this.conn.run(
        `COPY (SELECT * EXCLUDE (file_row_number) FROM ${part} ORDER BY ${primaryKey.map(q).join(', ')})
           TO ${lit(sorted)} (${PARQUET_OPTIONS})`,
      );
      await rename(sorted, out);
    }
    return this.partStats(out, primaryKey[0]!);
  }

  /**
   * The file as the master's typed columns, with two flags per row: FAIL (a contract check fails)
   * and MISMATCH (a value the checks accept does not convert: the typed conversion's safety net).
   */
  private async checkedSelect(
    table: string,
    file: string,
    localPath: string,
    format: TableFormat,
    columns: readonly ContractColumn[],
  ): Promise<{ t: StagedTable; select: string }> {
    const reader =
      format === 'csv'
        ? await csvReader(file, localPath)
        : format === 'json'
          ? `read_json(${lit(localPath)}, format = 'newline_delimited')`
          : `read_parquet(${lit(localPath)})`;
    const described = await this.conn.runAndReadAll(`DESCRIBE SELECT * FROM ${reader}`);
    const types = new Map<string, string>();
    for (const [name, type] of described.getRows()) types.set(String(name), String(type));
    const t: StagedTable = { table, file, reader, types, usable: await this.usablePatterns(columns) };
    const typed = columns.map((c) => {
      const sourceType = types.get(c.name);
      return `${sourceType === undefined ? `NULL::${SQL_TYPE[c.type]}` : typedExpr(c, sourceType)} AS ${q(c.name)}`;
    });
    const present = columns.filter((c) => types.has(c.name));
    const mismatch = present.length
      ? present
          .map((c) => `(${q(c.name)} IS NOT NULL AND ${typedExpr(c, types.get(c.name)!)} IS NULL)`)
          .join(' OR ')
      : 'false';
    const flags = [`${this.failingSql(t, columns)} AS ${q(FAIL)}`, `${mismatch} AS ${q(MISMATCH)}`];
    return { t, select: `SELECT ${[...typed, ...flags].join(', ')} FROM ${reader}` };
  }

  /** Runs `read` over a batch table, turning the engine's read errors into the producer's words. */
  private async readingTable<T>(
    file: string,
    localPath: string,
    format: TableFormat,
    read: () => Promise<T>,
  ): Promise<T> {
    try {
      return await read();
    } catch (err) {
      if (err instanceof AppError) throw err;
      // DuckDB's position of an encoding error is off (JSON: the next line); find the first bad byte.
      const encoding = format === 'parquet' ? undefined : await firstInvalidUtf8(localPath);
      throw new AppError(
        'PRE_ERR_TABLE_UNREADABLE',
        `${file}: cannot be read as ${format}: ${
          encoding
            ? `not UTF-8 at line ${encoding.line}, byte ${encoding.column} of the line (bytes ${encoding.bytes}): tables must be UTF-8 encoded`
            : readError(err, localPath, file)
        }`,
        { cause: err },
      );
    }
  }

  /** Whether two rows of `relation` share the values of one of the column sets (all non-null). */
  private async anyRepeated(relation: string, sets: readonly string[][]): Promise<boolean> {
    for (const set of sets) {
      const cols = set.map(q).join(', ');
      const out = await this.conn.runAndReadAll(
        `SELECT count(*)::INTEGER FROM (SELECT 1 FROM ${relation} WHERE ${set.map((c) => `${q(c)} IS NOT NULL`).join(' AND ')}
          GROUP BY ${cols} HAVING count(*) > 1 LIMIT 1)`,
      );
      if (Number(out.getRows()[0]![0]) > 0) return true;
    }
    return false;
  }

  async *chunks(file: string, columns: readonly ContractColumn[]): AsyncIterable<TableChunk> {
    const t = this.tableOf(file);
    const present = columns.filter((c) => t.types.has(c.name));
    if (present.length === 0) {
      const count = await this.conn.runAndReadAll(`SELECT count(*)::INTEGER FROM ${t.table}`);
      const n = Number(count.getRows()[0]![0]);
      for (let start = 0; start < n; start += 2048)
        yield { start, rowCount: Math.min(2048, n - start), values: {} };
      return;
    }
    const select = present
      .map((c) => `${validationExpr(c.name, t.types.get(c.name)!)} AS ${q(c.name)}`)
      .join(', ');
    // In the file's order (preserve_insertion_order): chunk positions are row numbers.
    const result = await this.conn.stream(`SELECT ${select} FROM ${t.reader}`);
    let start = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const cols = chunk.getColumns();
      const values: Record<string, unknown[]> = {};
      present.forEach((c, i) => {
        const decode = decoderFor(t.types.get(c.name)!);
        values[c.name] = decode ? cols[i]!.map(decode) : cols[i]!;
      });
      yield { start, rowCount: chunk.rowCount, values };
      start += chunk.rowCount;
    }
  }

  async *failingRows(file: string, columns: readonly ContractColumn[]): AsyncIterable<FailingRows> {
    const t = this.tableOf(file);
    const flagged = await this.conn.runAndReadAll(
      `SELECT count(*)::INTEGER FROM ${t.table} WHERE ${q(FAIL)}`,
    );
    if (Number(flagged.getRows()[0]![0]) === 0) return;
    const rules = columns.map((c) => columnRuleSql(c, t.types.get(c.name), (re) => t.usable.has(re)));
    const present = columns.filter((c) => t.types.has(c.name));
    const values = present.map((c) => validationExpr(c.name, t.types.get(c.name)!));
    // The staging scan flagged the rows; the file is read again (in its order, so rowids match)
    // and only the flagged rows, with their raw values, come out.
    const raw = `${t.table}_raw`;
    await this.conn.run(`CREATE OR REPLACE TEMP TABLE ${raw} AS SELECT * FROM ${t.reader}`);
    const result = await this.conn.stream(
      `SELECT (r.rowid + 1)::INTEGER, ${[...rules, ...values].join(', ')} FROM ${raw} r
        SEMI JOIN (SELECT rowid AS id FROM ${t.table} WHERE ${q(FAIL)}) f ON f.id = r.rowid
        ORDER BY r.rowid`,
    );
    const decoders = present.map((c) => decoderFor(t.types.get(c.name)!));
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const cols = chunk.getColumns();
      const out: FailingRows = { rows: cols[0]!.map(Number), rules: {}, values: {} };
      columns.forEach((c, i) => (out.rules[c.name] = cols[1 + i] as (string | null)[]));
      present.forEach((c, i) => {
        const decode = decoders[i];
        const raw = cols[1 + columns.length + i]!;
        out.values[c.name] = decode ? raw.map(decode) : raw;
      });
      yield out;
    }
    await this.conn.run(`DROP TABLE ${raw}`);
  }

  /** Whether a row breaks one of the contract's checks (a value only JavaScript can judge counts). */
  private failingSql(t: StagedTable, columns: readonly ContractColumn[]): string {
    const usable = t.usable;
    const rules = columns.map((c) => columnRuleSql(c, t.types.get(c.name), (re) => usable.has(re)));
    const failing = `coalesce(${rules.join(', ')}) IS NOT NULL`;
    const forms = columns.flatMap((c) => {
      const re = textFormRe2(c, t.types.get(c.name));
      return re === undefined ? [] : [{ column: c.name, re }];
    });
    if (forms.length <= 1) return failing;
    // Rows whose numeric text all has its form (checked in one pass) skip that check per value.
    const joined = `concat(${forms.map((f) => q(f.column)).join(", ',', ")})`;
    const form = forms.map((f) => `(?:${f.re})`).join(',');
    const known = new Set(forms.map((f) => f.column));
    const lean = columns.map((c) =>
      columnRuleSql(c, t.types.get(c.name), (re) => usable.has(re), known.has(c.name)),
    );
    return `CASE WHEN regexp_full_match(${joined}, ${lit(form)}) THEN coalesce(${lean.join(', ')}) IS NOT NULL ELSE ${failing} END`;
  }

  /** Translated patterns DuckDB's RE2 compiles (it bounds program size); the others go to JavaScript. */
  private async usablePatterns(columns: readonly ContractColumn[]): Promise<Set<string>> {
    const usable = new Set<string>();
    for (const c of columns) {
      const re = c.pattern === undefined ? undefined : patternToRe2(c.pattern);
      if (re === undefined || usable.has(re)) continue;
      try {
        await this.conn.run(`SELECT regexp_matches('', ${lit(re)})`);
        usable.add(re);
      } catch {
        // left to the JavaScript validator
      }
    }
    return usable;
  }

  async buildTyped(): Promise<RowRef[]> {
    const selects = this.staged.map(
      (t) =>
        `SELECT ${lit(t.file)} AS __file, (rowid + 1)::INTEGER AS __row, * EXCLUDE (${q(FAIL)}, ${q(MISMATCH)}) FROM ${t.table}`,
    );
    // A view, not a copy: the staged tables already hold the typed rows.
    await this.conn.run(`CREATE TEMP VIEW batch_rows AS ${selects.join(' UNION ALL ')}`);
    await this.conn.run('CREATE TEMP TABLE bad_rows (__file VARCHAR, __row INTEGER)');
    await this.conn.run('CREATE TEMP TABLE image_map (path VARCHAR, canonical VARCHAR)');
    const mismatches: RowRef[] = [];
    for (const t of this.staged) {
      const rows = await this.conn.runAndReadAll(
        `SELECT (rowid + 1)::INTEGER FROM ${t.table} WHERE ${q(MISMATCH)} ORDER BY rowid`,
      );
      for (const [row] of rows.getRows()) mismatches.push({ file: t.file, row: Number(row) });
    }
    return mismatches;
  }

  async duplicates(columns: readonly string[]): Promise<{ values: string[]; rows: RowRef[] }[]> {
    const cols = columns.map(q).join(', ');
    const notNull = columns.map((c) => `${q(c)} IS NOT NULL`).join(' AND ');
    // Find the duplicated keys first: an ordered list() over every group is far slower.
    const result = await this.conn.runAndReadAll(
      `WITH dup AS (SELECT ${cols} FROM batch_rows WHERE ${notNull} GROUP BY ${cols} HAVING count(*) > 1)
       SELECT ${columns.map((c) => `CAST(b.${q(c)} AS VARCHAR)`).join(', ')},
              list(b.__file ORDER BY b.__file, b.__row), list(b.__row ORDER BY b.__file, b.__row)
         FROM batch_rows b JOIN dup USING (${cols}) GROUP BY ${columns.map((c) => `b.${q(c)}`).join(', ')}
        ORDER BY ${columns.map((c) => `b.${q(c)}`).join(', ')}`,
    );
    return result.getRows().map((r) => {
      const files = (r[columns.length] as { items: unknown[] }).items;
      const rows = (r[columns.length + 1] as { items: unknown[] }).items;
      return {
        values: r.slice(0, columns.length).map(String),
        rows: files.map((f, i) => ({ file: String(f), row: Number(rows[i]) })),
      };
    });
  }

  async markBad(rows: readonly RowRef[]): Promise<void> {
    if (rows.length === 0) return;
    const appender = await this.conn.createAppender('bad_rows', 'main', 'temp');
    for (const r of rows) {
      appender.appendVarchar(r.file);
      appender.appendInteger(r.row);
      appender.endRow();
    }
    appender.closeSync();
  }

  async imageRefs(
    imageColumn: string,
    primaryKey: readonly string[],
  ): Promise<(RowRef & { path: string; key: Record<string, string | null> })[]> {
    const keys = primaryKey.map((k) => `CAST(b.${q(k)} AS VARCHAR)`).join(', ');
    const result = await this.conn.runAndReadAll(
      `SELECT b.__file, b.__row, b.${q(imageColumn)}, ${keys} FROM batch_rows b
        WHERE b.${q(imageColumn)} IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM bad_rows x WHERE x.__file = b.__file AND x.__row = b.__row)
        ORDER BY b.__file, b.__row`,
    );
    return result.getRows().map(([file, row, path, ...key]) => ({
      file: String(file),
      row: Number(row),
      path: String(path),
      key: Object.fromEntries(primaryKey.map((k, i) => [k, key[i] === null ? null : String(key[i])])),
    }));
  }

  async mapImages(mapping: ReadonlyMap<string, string>): Promise<void> {
    if (mapping.size === 0) return;
    const appender = await this.conn.createAppender('image_map', 'main', 'temp');
    for (const [path, canonical] of mapping) {
      appender.appendVarchar(path);
      appender.appendVarchar(canonical);
      appender.endRow();
    }
    appender.closeSync();
  }

  async writeBatchPart(
    columns: readonly ContractColumn[],
    primaryKey: readonly string[],
    imageColumn: string | undefined,
    batchId: string,
    out: string,
  ): Promise<PartStats> {
    const select = columns
      .map((c) => (c.name === imageColumn ? `m.canonical AS ${q(c.name)}` : `b.${q(c.name)}`))
      .concat(`${lit(batchId)} AS _batch_id`)
      .join(', ');
    const join = imageColumn ? `LEFT JOIN image_map m ON m.path = b.${q(imageColumn)}` : '';
    await this.conn.run(
      `COPY (SELECT ${select} FROM batch_rows b ${join}
              WHERE NOT EXISTS (SELECT 1 FROM bad_rows x WHERE x.__file = b.__file AND x.__row = b.__row)
              ORDER BY ${primaryKey.map((k) => `b.${q(k)}`).join(', ')})
         TO ${lit(out)} (${PARQUET_OPTIONS})`,
    );
    return this.partStats(out, primaryKey[0]!);
  }

  /** Whether `relation` has no NULL key and its keys strictly increase in the order of `position`. */
  private async inKeyOrder(
    relation: string,
    position: string,
    primaryKey: readonly string[],
  ): Promise<boolean> {
    const key = primaryKey.length === 1 ? q(primaryKey[0]!) : `row(${primaryKey.map(q).join(', ')})`;
    const anyNull = primaryKey.map((k) => `${q(k)} IS NULL`).join(' OR ');
    const out = await this.conn.runAndReadAll(
      `SELECT count(*)::INTEGER FROM (
         SELECT ${key} AS k, lag(${key}) OVER (ORDER BY ${position}) AS p, ${anyNull} AS null_key FROM ${relation})
        WHERE k <= p OR null_key`,
    );
    return Number(out.getRows()[0]![0]) === 0;
  }

  async candidateParts(
    batchPart: string,
    zones: readonly PartZone[],
    leadingKey: ContractColumn,
  ): Promise<number[]> {
    if (zones.length === 0) return [];
    const type = SQL_TYPE[leadingKey.type];
    await this.conn.run(
      'CREATE OR REPLACE TEMP TABLE zones (part_no BIGINT, key_min VARCHAR, key_max VARCHAR)',
    );
    const appender = await this.conn.createAppender('zones', 'main', 'temp');
    for (const z of zones) {
      appender.appendBigInt(BigInt(z.partNo));
      appender.appendVarchar(z.keyMin);
      appender.appendVarchar(z.keyMax);
      appender.endRow();
    }
    appender.closeSync();
    // A range join: typed comparison, so integer keys compare as numbers, not as text.
    const k = q(leadingKey.name);
    const result = await this.conn.runAndReadAll(
      `SELECT DISTINCT z.part_no FROM zones z JOIN (SELECT DISTINCT ${k} AS k FROM read_parquet(${lit(batchPart)})) b
          ON b.k >= CAST(z.key_min AS ${type}) AND b.k <= CAST(z.key_max AS ${type})
        ORDER BY z.part_no`,
    );
    return result.getRows().map(([p]) => Number(p));
  }

  async countMatches(part: string, batchPart: string, primaryKey: readonly string[]): Promise<number> {
    const cols = primaryKey.map(q).join(', ');
    const result = await this.conn.runAndReadAll(
      `SELECT count(*)::BIGINT FROM (SELECT ${cols} FROM read_parquet(${lit(part)})) p
         SEMI JOIN (SELECT ${cols} FROM read_parquet(${lit(batchPart)})) b USING (${cols})`,
    );
    return Number(result.getRows()[0]![0]);
  }

  async rewritePart(
    source: string,
    removeKeysOf: string,
    primaryKey: readonly string[],
    out: string,
  ): Promise<PartStats> {
    const pk = primaryKey.map(q).join(', ');
    await this.conn.run(
      `COPY (SELECT * FROM read_parquet(${lit(source)}) p
              WHERE NOT EXISTS (SELECT 1 FROM read_parquet(${lit(removeKeysOf)}) b
                                 WHERE ${primaryKey.map((k) => `b.${q(k)} = p.${q(k)}`).join(' AND ')})
              ORDER BY ${pk})
         TO ${lit(out)} (${PARQUET_OPTIONS})`,
    );
    return this.partStats(out, primaryKey[0]!);
  }

  async mergeParts(
    sources: readonly string[],
    primaryKey: readonly string[],
    out: string,
  ): Promise<PartStats> {
    const list = `[${sources.map(lit).join(', ')}]`;
    await this.conn.run(
      `COPY (SELECT * FROM read_parquet(${list}) ORDER BY ${primaryKey.map(q).join(', ')}) TO ${lit(out)} (${PARQUET_OPTIONS})`,
    );
    return this.partStats(out, primaryKey[0]!);
  }

  async imageCounts(sources: readonly string[], imageColumn: string): Promise<Map<string, number>> {
    if (sources.length === 0) return new Map();
    const img = q(imageColumn);
    return this.counts(
      `SELECT ${img}, count(*)::BIGINT FROM read_parquet([${sources.map(lit).join(', ')}])
        WHERE ${img} IS NOT NULL GROUP BY ${img} ORDER BY ${img}`,
    );
  }

  async replacedImageCounts(
    part: string,
    batchPart: string,
    primaryKey: readonly string[],
    imageColumn: string,
  ): Promise<Map<string, number>> {
    const cols = primaryKey.map(q).join(', ');
    const img = q(imageColumn);
    return this.counts(
      `SELECT ${img}, count(*)::BIGINT FROM (SELECT ${cols}, ${img} FROM read_parquet(${lit(part)})) p
         SEMI JOIN (SELECT ${cols} FROM read_parquet(${lit(batchPart)})) b USING (${cols})
        WHERE ${img} IS NOT NULL GROUP BY ${img} ORDER BY ${img}`,
    );
  }

  close(): void {
    this.conn.closeSync();
  }

  private async counts(sql: string): Promise<Map<string, number>> {
    const result = await this.conn.runAndReadAll(sql);
    return new Map(result.getRows().map(([value, n]) => [String(value), Number(n)]));
  }

  private async partStats(file: string, leadingKey: string): Promise<PartStats> {
    const k = q(leadingKey);
    const result = await this.conn.runAndReadAll(
      `SELECT count(*)::BIGINT, CAST(min(${k}) AS VARCHAR), CAST(max(${k}) AS VARCHAR) FROM read_parquet(${lit(file)})`,
    );
    const [rows, keyMin, keyMax] = result.getRows()[0]!;
    return {
      rows: Number(rows),
      keyMin: keyMin === null ? null : String(keyMin),
      keyMax: keyMax === null ? null : String(keyMax),
    };
  }

  private tableOf(file: string): StagedTable {
    const t = this.staged.find((s) => s.file === file);
    // A programmer's invariant: a table is read only after it was staged.
    if (!t) throw new Error(`table ${file} was not staged`);
    return t;
  }
}

/**
 * What the JS validator sees: JS-native numbers, booleans and text; everything else as text. The
 * contract's SQL checks (`columnRuleSql`) read the same classification (`sourceKind`).
 *
 * JSON-typed columns (JSON Lines whose rows mix strings and objects) and nested ones (STRUCT, MAP,
 * lists, UNION) are decoded from JSON text in JS, so a JSON string is that string (not its quoted
 * JSON text) and an object or list is not text at all (a type error in a string column, not
 * DuckDB's "{'a': 1}").
 */
function validationExpr(name: string, sourceType: string): string {
  switch (sourceKind(sourceType)) {
    case 'to_double':
      return `CAST(${q(name)} AS DOUBLE)`;
    case 'nested':
      return `CAST(to_json(${q(name)}) AS VARCHAR)`;
    case 'text':
      return `CAST(${q(name)} AS VARCHAR)`;
    default:
      // Bytes (Parquet BYTE_ARRAY without a string annotation) are decoded in JS: UTF-8 text or not text.
      return q(name);
  }
}

/** Bytes that are not UTF-8: what the validator gets for them (a type error in any column). */
class NotText {
  private readonly size: number;
  constructor(size: number) {
    this.size = size;
  }
  toString(): string {
    return `${this.size} bytes that are not UTF-8 text`;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** JS value of a validation expression's result for the source types that need decoding. */
function decoderFor(sourceType: string): ((v: unknown) => unknown) | undefined {
  const kind = sourceKind(sourceType);
  if (kind === 'nested') return (v) => (typeof v === 'string' ? (JSON.parse(v) as unknown) : v);
  if (kind === 'blob') {
    return (v) => {
      if (v === null || v === undefined) return v;
      const bytes = (v as { bytes: Uint8Array }).bytes;
      try {
        return utf8.decode(bytes);
      } catch {
        return new NotText(bytes.length);
      }
    };
  }
  return undefined;
}

/** The value in the master's type; NULL when it does not convert (caught by the safety net). */
function typedExpr(col: ContractColumn, source: string): string {
  let c = q(col.name);
  let sourceType = source;
  // As the validator sees them (above): JSON values unquoted, bytes as UTF-8 text (NULL if not).
  const kind = sourceKind(source);
  if (kind === 'nested') [c, sourceType] = [`(to_json(${c}) ->> '$')`, 'VARCHAR'];
  else if (kind === 'blob') [c, sourceType] = [`try(decode(${c}))`, 'VARCHAR'];
  if (col.type === 'timestamp') {
    if (sourceType === 'TIMESTAMP') return c;
    // Text with an offset is converted to UTC; text without one is taken as UTC (session zone).
    // The TIMESTAMPTZ parse costs about five times the plain one: only text ending in an offset takes it.
    if (sourceType === 'VARCHAR')
      return `CASE WHEN regexp_matches(${c}, '(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)$') THEN TRY_CAST(TRY_CAST(${c} AS TIMESTAMPTZ) AS TIMESTAMP) ELSE TRY_CAST(${c} AS TIMESTAMP) END`;
  }
  if (col.type === 'integer' && sourceType === 'VARCHAR')
    return `TRY_CAST(TRY_CAST(${c} AS HUGEINT) AS BIGINT)`;
  return `TRY_CAST(${c} AS ${SQL_TYPE[col.type]})`;
}

/**
 * The CSV dialect is fixed, not sniffed: RFC 4180 (comma, double quotes doubled inside quotes),
 * the first record is the header, every column text. DuckDB's sniffer guessed another dialect for
 * a file with one malformed row and then read it without error: a ragged row made the sniffer take
 * the last line as the header (no rows at all), an unterminated quote made it read quotes as data
 * (`"abc` stored with its quote). Pinned, such a file is refused with the line and the problem.
 * The header is parsed here because DuckDB needs the column list when it does not sniff.
 */
async function csvReader(file: string, localPath: string): Promise<string> {
  const names = await csvHeader(file, localPath);
  // An empty file: no header, no rows; DuckDB needs one column to read it.
  if (names.length === 0) names.push('__empty');
  const columns = `{${names.map((n) => `${lit(n)}: 'VARCHAR'`).join(', ')}}`;
  return `read_csv(${lit(localPath)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', strict_mode = true, null_padding = false, columns = ${columns})`;
}

const HEADER_MAX_BYTES = 1024 * 1024;

/** Column names of a CSV file's first record (RFC 4180); none for an empty file. */
async function csvHeader(file: string, localPath: string): Promise<string[]> {
  const unreadable = (why: string) =>
    new AppError('PRE_ERR_TABLE_UNREADABLE', `${file}: cannot be read as csv: ${why}`);
  const handle = await open(localPath, 'r');
  let bytes: Buffer;
  try {
    const buf = Buffer.alloc(HEADER_MAX_BYTES);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    bytes = buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  if (i >= bytes.length) return [];
  const names: string[] = [];
  let field: number[] = [];
  let quoted = false;
  let ended = false;
  const push = () => {
    const raw = Buffer.from(field);
    if (!isUtf8(raw)) throw unreadable('the header (line 1) is not UTF-8: tables must be UTF-8 encoded');
    names.push(raw.toString('utf8'));
    field = [];
  };
  for (; i < bytes.length && !ended; i++) {
    const b = bytes[i]!;
    if (quoted) {
      if (b !== 0x22) field.push(b);
      else if (bytes[i + 1] === 0x22) field.push(bytes[++i]!);
      else quoted = false;
    } else if (b === 0x22 && field.length === 0) quoted = true;
    else if (b === 0x2c) push();
    else if (b === 0x0a || b === 0x0d) ended = true;
    else field.push(b);
  }
  if (quoted) throw unreadable('line 1 (the header): value with unterminated quote');
  if (!ended && bytes.length === HEADER_MAX_BYTES) {
    throw unreadable(`the header (line 1) is longer than ${HEADER_MAX_BYTES} bytes`);
  }
  push();
  const seen = new Set<string>();
  return names.map((n, k) => {
    // DuckDB's names for unnamed columns; a contract never declares them, so they are ignored.
    const name = n === '' ? `column${k}` : n;
    if (seen.has(name)) throw unreadable(`the header (line 1) names column ${JSON.stringify(name)} twice`);
    seen.add(name);
    return name;
  });
}

/**
 * Where a text file first breaks UTF-8: 1-based line and byte within that line, and the bytes
 * there (hex); undefined when it is valid UTF-8. Runs only on a table DuckDB failed to read.
 */
export async function firstInvalidUtf8(
  file: string,
): Promise<{ line: number; column: number; bytes: string } | undefined> {
  let line = 1;
  let column = 0;
  let need = 0; // continuation bytes still expected
  let lead: number[] = [];
  let min = 0; // smallest allowed second byte of the sequence (overlongs, surrogates)
  let max = 0xbf;
  for await (const chunk of createReadStream(file)) {
    for (const b of chunk as Buffer) {
      column++;
      if (need > 0) {
        if (b < min || b > max) {
          return { line, column: column - lead.length, bytes: hex([...lead, b]) };
        }
        lead.push(b);
        min = 0x80;
        max = 0xbf;
        need--;
        continue;
      }
      lead = [b];
      if (b === 0x0a) {
        line++;
        column = 0;
      } else if (b < 0x80) continue;
      else if (b >= 0xc2 && b <= 0xdf) [need, min, max] = [1, 0x80, 0xbf];
      else if (b === 0xe0) [need, min, max] = [2, 0xa0, 0xbf];
      else if (b === 0xed) [need, min, max] = [2, 0x80, 0x9f];
      else if (b >= 0xe1 && b <= 0xef) [need, min, max] = [2, 0x80, 0xbf];
      else if (b === 0xf0) [need, min, max] = [3, 0x90, 0xbf];
      else if (b === 0xf4) [need, min, max] = [3, 0x80, 0x8f];
      else if (b >= 0xf1 && b <= 0xf3) [need, min, max] = [3, 0x80, 0xbf];
      else return { line, column, bytes: hex([b]) };
    }
  }
  return need > 0 ? { line, column: column - lead.length + 1, bytes: hex(lead) } : undefined;
}

function hex(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * DuckDB's reason a table cannot be read, as a rejection states it: the problem and where (line,
 * byte), with the batch's file name instead of the local copy's path. Dropped: the producer's raw
 * line (it may be the very bytes that are broken), DuckDB's suggestions of reader options the
 * producer does not control, the reader's settings and the SQL statement.
 */
export function readError(err: unknown, localPath: string, file: string): string {
  const text = (err instanceof Error ? err.message : String(err)).replaceAll(localPath, file);
  // A CSV error: "CSV Error on Line: N", the raw line (possibly several lines), then the problem.
  const csv = /CSV Error on Line: (\d+)/.exec(text);
  if (csv) {
    const fixes = text.search(/\n\s*(Possible (fixes|Solution)|file = )/);
    const body = (fixes >= 0 ? text.slice(0, fixes) : text)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    const last = body.at(-1) ?? '';
    if (body.length > 2 && !last.startsWith('Original Line:'))
      return `line ${csv[1]}: ${last.replace(/\.$/, '')}`.slice(0, 600);
  }
  const kept: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (/^(Possible (Solution|fixes)|LINE \d+:|The search space used was|file = )/.test(line)) break;
    if (line === '' || line.startsWith('Original Line:')) continue;
    kept.push(line.replace(/[.:]$/, ''));
  }
  const reason = kept.join(': ').replace(/\s+/g, ' ');
  return reason.length > 600 ? `${reason.slice(0, 597)}...` : reason;
}
