import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance, type DuckDBConnection, type JS } from '@duckdb/node-api';
import { AppError } from '@tributary/errors';
import {
  ObjectNotFoundError,
  createObjectStore,
  objectUri,
  type ObjectStore,
  type ObjectStoreOptions,
} from '@tributary/storage';
import type {
  Baseline,
  CandidateSpec,
  CandidateWritten,
  CodeAugmentation,
  EngineContext,
  EngineRun,
  MetricResult,
  RefreshEngine,
  ResolvedSource,
  SourceRead,
  SqlAugmentation,
  Thresholds,
  ToxicityScorer,
} from '../domain/ports.ts';
import { ksStatistic, psiFromCounts } from '../domain/stats.ts';
import { cancellationOf, throwIfCancelled } from '../domain/cancellation.ts';
import { dropThreshold, WORD_SEPARATOR } from '../domain/sampling.ts';

export interface DuckDbEngineOptions {
  s3: ObjectStoreOptions;
  /** Where candidates are written (the refresh store). */
  store: ObjectStore;
  /** Directory of the runs' scratch databases, spill files and downloaded sources. */
  scratchDir: string;
  /** DuckDB's memory_limit (spills to disk beyond it), e.g. `512MB`. */
  memoryLimit: string;
  threads: number;
  /** Rows handed to JavaScript at once (pluggable augmentations, toxicity). */
  batchRows: number;
  /** Texts scored for toxicity at most: beyond, a hash-chosen uniform subsample of about this many. */
  toxicityMaxTexts: number;
}

/**
 * The embedded engine: each run gets a DuckDB database file in its own scratch directory, with a
 * memory limit beyond which DuckDB spills to disk. Sources are read by DuckDB where they lie (or from
 * a local copy of an S3 object, written while its checksum is computed); no source row becomes a
 * JavaScript object. Only bounded batches (toxicity, pluggable augmentations) cross into JavaScript.
 */
export class DuckDbEngine implements RefreshEngine {
  readonly name = 'duckdb';
  private readonly opts: DuckDbEngineOptions;
  constructor(opts: DuckDbEngineOptions) {
    this.opts = opts;
  }

  async open(datasetVersion: string): Promise<DuckDbRun> {
    await mkdir(this.opts.scratchDir, { recursive: true });
    const dir = await mkdtemp(path.join(this.opts.scratchDir, `${datasetVersion.replace(/[^\w.-]/g, '_')}-`));
    try {
      const instance = await DuckDBInstance.create(path.join(dir, 'run.duckdb'), {
        memory_limit: this.opts.memoryLimit,
        threads: String(this.opts.threads),
        temp_directory: path.join(dir, 'spill'),
        preserve_insertion_order: 'true',
      });
      return new DuckDbRun(this.opts, dir, instance, await instance.connect());
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;
/** A cell as a category label, as `cell()` prints it: NULL is '', scalars as text. */
const label = (column: string | undefined) =>
  column === undefined ? `''` : `coalesce(CAST(${ident(column)} AS VARCHAR), '')`;
/** Helper columns every source view carries, dropped from the candidate written. */
const HELPERS = ['__src', '__si', '__ord', '__key'];

/** One run's DuckDB database: the sources as views/tables, then the candidate table. */
export class DuckDbRun implements EngineRun {
  private readonly opts: DuckDbEngineOptions;
  private readonly dir: string;
  private readonly instance: DuckDBInstance;
  private readonly conn: DuckDBConnection;
  /** Views of the sources read so far (one per file or master part), in the candidate's order. */
  private readonly views: string[] = [];
  private closed = false;

  constructor(opts: DuckDbEngineOptions, dir: string, instance: DuckDBInstance, conn: DuckDBConnection) {
    this.opts = opts;
    this.dir = dir;
    this.instance = instance;
    this.conn = conn;
  }

  /** The run's scratch directory (removed by close). */
  get scratch(): string {
    return this.dir;
  }

  ingest(source: ResolvedSource, ctx: EngineContext): Promise<SourceRead> {
    return this.interruptible(ctx.signal, () => this.read(source));
  }

  private async read(source: ResolvedSource): Promise<SourceRead> {
    if (source.kind === 'file') {
      const local = await this.fetch(source.uri, 'sha256', source.sha256, `checksum mismatch`);
      const rows = await this.addView(source.name, local, source.uri);
      return { name: source.name, checksum: source.sha256, rows, uri: source.uri };
    }
    const { master } = source;
    let rows = 0;
    for (const part of source.parts) {
      const local = await this.fetch(
        part.uri,
        'md5',
        part.md5,
        `master version ${master.version} of ${master.dataset}: ${part.relpath} checksum mismatch`,
      );
      rows += await this.addView(
        `${source.name}/${part.relpath}`,
        local,
        `${master.location}/${part.relpath}`,
        'parquet',
      );
    }
    // The parts matched their md5s; the count checks they are all the version's rows.
    if (rows !== master.rowCount) {
      throw new AppError(
        'QG_ERR_SOURCE_CHECKSUM',
        `master version ${master.version} of ${master.dataset} holds ${rows} rows, but master.versioned announced ${master.rowCount}`,
      );
    }
    return {
      name: source.name,
      checksum: master.checksum,
      rows,
      master_version: master.version,
      location: master.location,
    };
  }

  /**
   * A local path DuckDB can read, whose checksum matched: a file:// source is hashed where it lies,
   * an S3 object is copied to the scratch directory while it is hashed.
   */
  private async fetch(
    uri: string,
    algorithm: 'sha256' | 'md5',
    expected: string,
    what: string,
  ): Promise<string> {
    const hash = createHash(algorithm);
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    let local: string;
    try {
      if (uri.startsWith('file://')) {
        local = fileURLToPath(uri);
        for await (const chunk of createReadStream(local)) hash.update(chunk as Buffer);
      } else {
        const slash = uri.lastIndexOf('/');
        const store = createObjectStore(uri.slice(0, slash), this.opts.s3);
        local = path.join(this.dir, `source-${this.views.length}-${path.basename(uri)}`);
        await pipeline(await store.get(uri.slice(slash + 1)), hasher, createWriteStream(local));
      }
    } catch (err) {
      const missing = err instanceof ObjectNotFoundError || (err as NodeJS.ErrnoException).code === 'ENOENT';
      // Retriable: the source registry may not have published it yet, or the store is briefly away.
      throw new AppError(
        missing ? 'QG_ERR_SOURCE_MISSING' : 'QG_ERR_SOURCE_READ',
        `${uri} ${missing ? 'does not exist' : 'cannot be read'}`,
        {
          retriable: true,
          cause: err,
        },
      );
    }
    const got = hash.digest('hex');
    if (got !== expected) {
      throw new AppError('QG_ERR_SOURCE_CHECKSUM', `${what} (expected ${algorithm} ${expected}, got ${got})`);
    }
    return local;
  }

  /**
   * A view of one source with its helper columns: `__src` (its name), `__si` (its place in the
   * candidate's order), `__ord` (the row's position in it) and `__key` (`<__src>:<__ord>`, what the
   * sampling and augmentation hashes read). CSV and JSON Lines are loaded into a table (its rowid is the
   * row's position); Parquet is read in place with its file row number.
   */
  private async addView(name: string, local: string, uri: string, format?: 'parquet'): Promise<number> {
    const si = this.views.length;
    const file = literal(local);
    const kind =
      format ??
      (/\.parquet$/i.test(uri)
        ? 'parquet'
        : /\.(jsonl|ndjson)$/i.test(uri)
          ? 'json'
          : /\.csv$/i.test(uri)
            ? 'csv'
            : undefined);
    if (kind === undefined) {
      throw new AppError('QG_ERR_SOURCE_FORMAT', `${uri}: expected a .jsonl, .csv or .parquet file`);
    }
    const helpers = (ord: string) =>
      `${literal(name)} AS __src, ${si}::INTEGER AS __si, ${ord} AS __ord, ${literal(`${name}:`)} || ${ord} AS __key`;
    try {
      if (kind === 'parquet') {
        await this.conn.run(
          `CREATE VIEW s${si} AS SELECT * EXCLUDE (file_row_number), ${helpers('file_row_number')} FROM read_parquet(${file}, file_row_number = true)`,
        );
      } else {
        const read =
          kind === 'json'
            ? `read_json(${file}, format = 'newline_delimited', sample_size = -1)`
            : // RFC 4180 fixed, not sniffed; values stay strings, as the CSV reader always kept them.
              `read_csv(${file}, header = true, delim = ',', quote = '"', escape = '"', all_varchar = true, auto_detect = false)`;
        await this.conn.run(`CREATE TABLE t${si} AS SELECT * FROM ${read}`);
        await this.conn.run(`CREATE VIEW s${si} AS SELECT *, ${helpers('rowid')} FROM t${si}`);
      }
      this.views.push(`s${si}`);
      return Number(await this.scalar(`SELECT count(*) FROM s${si}`));
    } catch (err) {
      throw new AppError('QG_ERR_SOURCE_FORMAT', `${uri}: cannot be read as ${kind}: ${firstLine(err)}`, {
        cause: err,
      });
    }
  }

  async generate(
    spec: CandidateSpec,
    out: { prefix: string; tags: Record<string, string> },
    ctx: EngineContext,
  ): Promise<CandidateWritten> {
    return this.interruptible(ctx.signal, async () => {
      await engineStep('sampling and augmentation', () => this.build(spec, ctx.signal));
      return this.write(out, ctx.signal);
    });
  }

  /**
   * Runs engine work that a cancel of the run stops: the query running is interrupted
   * (DuckDB's interrupt) and the cancellation is thrown, with DuckDB's error as its cause. The
   * engine_timeout does not interrupt it (it bounds cluster jobs).
   */
  private async interruptible<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const early = cancellationOf(signal);
    if (early) throw early;
    const interrupt = () => {
      if (cancellationOf(signal)) this.conn.interrupt();
    };
    signal.addEventListener('abort', interrupt);
    try {
      const value = await fn();
      // A cancel between two queries interrupts none: it ends the work here.
      const late = cancellationOf(signal);
      if (late) throw late;
      return value;
    } catch (err) {
      const cancelled = cancellationOf(signal);
      if (cancelled && err !== cancelled) {
        throw new AppError(cancelled.code, cancelled.message, { retriable: false, cause: err });
      }
      throw err;
    } finally {
      signal.removeEventListener('abort', interrupt);
    }
  }

  private async build(spec: CandidateSpec, signal: AbortSignal): Promise<void> {
    // A programmer's invariant: the engine reads the sources before it generates.
    if (this.views.length === 0) throw new Error('generate before any source was read');
    await this.conn.run(
      `CREATE VIEW src AS ${this.views.map((v) => `SELECT * FROM ${v}`).join(' UNION ALL BY NAME ')}`,
    );
    const columns = await this.columns('src');
    const stratify = columns.has(spec.stratifyColumn) ? spec.stratifyColumn : undefined;
    const hash = `('0x' || md5(${literal(`${spec.seed}:`)} || __key)[1:16])::UBIGINT`;
    const textIsString = spec.textColumn !== null && columns.get(spec.textColumn) === 'VARCHAR';
    const dropout = textIsString && spec.textDropout > 0;
    // Word dropout reads the words once (__words, __kept), then the text is rebuilt from them.
    const text = dropout ? ident(spec.textColumn!) : '';
    const inner = dropout
      ? `, ${wordsSql(text)} AS __words, ${keptSql('__words', spec.seed, spec.textDropout)} AS __kept`
      : '';
    const outer = dropout
      ? `* EXCLUDE (__words, __kept) REPLACE (CASE WHEN ${text} IS NULL THEN NULL WHEN len(__kept) > 0 THEN array_to_string(__kept, ' ') ELSE array_to_string(__words[1:1], ' ') END AS ${text})`
      : '*';
    const cutoffs = await this.cutoffs(spec, stratify, hash);
    // A filter over the sources' scan keeps their order: no join, no sort of the wide rows.
    const select =
      cutoffs !== undefined
        ? `SELECT ${outer} FROM (SELECT *${inner} FROM src WHERE ${cutoffs})`
        : `SELECT ${outer} FROM (SELECT *${inner} FROM src SEMI JOIN kept USING (__si, __ord)) ORDER BY __si, __ord`;
    const plugged = spec.augmentations.filter((a) => columns.get(a.column) === 'VARCHAR');
    if (plugged.length === 0) {
      // Written once as a local Parquet file (cheaper than a table of the database), read back in order.
      const file = path.join(this.dir, 'candidate-keyed.parquet');
      await this.conn.run(`COPY (${select}) TO ${literal(file)} (FORMAT parquet)`);
      await this.conn.run(`CREATE VIEW candidate AS SELECT * FROM read_parquet(${literal(file)})`);
      return;
    }
    // Pluggable augmentations update values in place: a table.
    await this.conn.run(`CREATE TABLE candidate AS ${select}`);
    for (const aug of plugged) {
      if (aug.kind === 'sql') await this.augmentSql(aug, spec.seed);
      else await this.augment(aug.column, aug, spec.seed, signal);
    }
  }

  /**
   * A declared SQL augmentation: the column's non-null values whose draw falls under the probability
   * become the expression's value (as text). A failing expression fails the run naming it.
   */
  private async augmentSql(aug: SqlAugmentation, seed: number): Promise<void> {
    const column = ident(aug.column);
    const drawn = `('0x' || md5(${literal(`${seed}:${aug.name}:`)} || __key)[1:8])::UBIGINT < ${dropThreshold(aug.probability)}`;
    try {
      await this.conn.run(
        `UPDATE candidate SET ${column} = CAST((${aug.expression}) AS VARCHAR) WHERE ${column} IS NOT NULL AND ${drawn}`,
      );
    } catch (err) {
      throw new AppError('QG_ERR_AUGMENTATION', `SQL augmentation ${aug.name} failed: ${firstLine(err)}`, {
        retriable: false,
        cause: err,
      });
    }
  }

  /**
   * Keeps, in each stratum, the ceil(n × fraction) rows (at least one) whose md5(`<seed>:<key>`)
   * begins with the lowest 64 bits (ties by key): a function of the keys and the seed alone, so any
   * engine computes the same rows. Ranks only (stratum, hash, key), and answers the filter "at or
   * under its stratum's last kept (hash, key)" when there are at most 1000 strata, else leaves the
   * kept rows in a table `kept` to join (undefined).
   */
  private async cutoffs(
    spec: CandidateSpec,
    stratify: string | undefined,
    hash: string,
  ): Promise<string | undefined> {
    const fraction = `${Number(spec.fraction)}::DOUBLE`;
    const ranked = (where: string) => `
      SELECT __si, __ord, s, h, __key FROM (
        SELECT __si, __ord, s, h, __key,
          row_number() OVER (PARTITION BY s ORDER BY h, __key) AS rn,
          count(*) OVER (PARTITION BY s) AS n
        FROM (SELECT __si, __ord, __key, ${label(stratify)} AS s, ${hash} AS h FROM src)
      ) WHERE ${where}`;
    // Each stratum's last kept row; with many strata, the kept rows themselves.
    const last = await this.rows(
      `SELECT s, h, __key FROM (${ranked(`rn = greatest(1, ceil(n * ${fraction}))`)}) ORDER BY s LIMIT 1001`,
    );
    if (last.length > 1000) {
      await this.conn.run(
        `CREATE TABLE kept AS SELECT __si, __ord FROM (${ranked(`rn <= greatest(1, ceil(n * ${fraction}))`)})`,
      );
      return undefined;
    }
    const cases = last.map(
      ([s, h, key]) =>
        `WHEN ${literal(text(s))} THEN (${hash} < ${text(h)} OR (${hash} = ${text(h)} AND __key <= ${literal(text(key))}))`,
    );
    return cases.length === 0 ? 'false' : `CASE ${label(stratify)} ${cases.join(' ')} ELSE false END`;
  }

  /** Streams one column through a pluggable augmentation in bounded batches, writing back what changed. */
  private async augment(
    column: string,
    aug: CodeAugmentation,
    seed: number,
    signal: AbortSignal,
  ): Promise<void> {
    const table = `aug_${Math.random().toString(36).slice(2, 8)}`;
    await this.conn.run(`CREATE TABLE ${table} (__key VARCHAR, v VARCHAR)`);
    // A second connection appends while the first streams the column.
    const writer = await this.instance.connect();
    const appender = await writer.createAppender(table);
    try {
      const result = await this.conn.stream(
        `SELECT __key, ${ident(column)} FROM candidate WHERE ${ident(column)} IS NOT NULL ORDER BY __si, __ord`,
      );
      let batch: { key: string; value: string }[] = [];
      const flush = async () => {
        // Code runs between DuckDB's queries: a cancel stops it at the next batch.
        throwIfCancelled(signal);
        const values = await aug.apply(batch, seed);
        batch.forEach((input, i) => {
          const value = values[i];
          if (value === undefined || value === input.value) return;
          appender.appendVarchar(input.key);
          appender.appendVarchar(value);
          appender.endRow();
        });
        batch = [];
      };
      for await (const rows of result.yieldRowsJs()) {
        for (const [key, value] of rows) batch.push({ key: text(key), value: text(value) });
        if (batch.length >= this.opts.batchRows) await flush();
      }
      // An interrupted stream may just end: the cancel is checked again before anything is written back.
      throwIfCancelled(signal);
      if (batch.length > 0) await flush();
      appender.closeSync();
    } finally {
      writer.closeSync();
    }
    await this.conn.run(
      `UPDATE candidate SET ${ident(column)} = a.v FROM ${table} a WHERE candidate.__key = a.__key`,
    );
    await this.conn.run(`DROP TABLE ${table}`);
  }

  /** JSON Lines (what consumers read, sha256 = candidate_checksum) and Parquet, then uploaded. */
  private async write(
    out: { prefix: string; tags: Record<string, string> },
    signal?: AbortSignal,
  ): Promise<CandidateWritten> {
    // The candidate table was built in order (and updated in place): no sort here.
    const select = `SELECT * EXCLUDE (${HELPERS.join(', ')}) FROM candidate`;
    const jsonl = path.join(this.dir, 'candidate.jsonl');
    const parquet = path.join(this.dir, 'candidate.parquet');
    const rows = await engineStep('writing the candidate', async () => {
      await this.conn.run(`COPY (${select}) TO ${literal(jsonl)} (FORMAT json)`);
      await this.conn.run(`COPY (${select}) TO ${literal(parquet)} (FORMAT parquet)`);
      return Number(await this.scalar('SELECT count(*) FROM candidate'));
    });
    // A cancelled run uploads nothing (an interrupted query may have ended early rather than failed).
    if (signal) throwIfCancelled(signal);
    const checksum = await fileSha256(jsonl);
    const put = async (key: string, file: string, contentType: string) => {
      await this.opts.store.putFile(key, file, { contentType, metadata: out.tags });
      return objectUri(this.opts.store, key);
    };
    const parquetUri = await put(`${out.prefix}candidate.parquet`, parquet, 'application/vnd.apache.parquet');
    const uri = await put(`${out.prefix}candidate.jsonl`, jsonl, 'application/x-ndjson');
    return { uri, parquetUri, checksum, rows };
  }

  /**
   * Takes a candidate written elsewhere (a cluster job's Parquet parts, in order, with their rows'
   * `__key`) as this run's candidate, and writes it as generate does.
   */
  async writeLoaded(
    files: readonly string[],
    out: { prefix: string; tags: Record<string, string> },
  ): Promise<CandidateWritten> {
    const list = `[${files.map(literal).join(', ')}]`;
    await this.conn.run(
      `CREATE VIEW candidate AS SELECT *, NULL::VARCHAR AS __src, 0::INTEGER AS __si, 0::BIGINT AS __ord FROM read_parquet(${list}, union_by_name = true)`,
    );
    return this.write(out);
  }

  async measure(
    baseline: Baseline,
    settings: { stratifyColumn: string; textColumn: string | null; thresholds: Thresholds },
    toxicity: ToxicityScorer,
  ): Promise<{ metrics: MetricResult[]; gaps: string[] }> {
    return engineStep('the gate metrics', () => this.metrics(baseline, settings, toxicity));
  }

  private async metrics(
    baseline: Baseline,
    settings: { stratifyColumn: string; textColumn: string | null; thresholds: Thresholds },
    toxicity: ToxicityScorer,
  ): Promise<{ metrics: MetricResult[]; gaps: string[] }> {
    const t = settings.thresholds;
    const columns = await this.columns('candidate');
    const has = (c: string) => (columns.has(c) && !HELPERS.includes(c) ? c : undefined);
    const metrics: MetricResult[] = [];
    const add = (metric: string, value: number, base: number | null, threshold: number, pass: boolean) =>
      metrics.push({
        metric,
        baseline: base,
        value,
        delta: base === null ? null : value - base,
        threshold,
        pass,
      });

    const required = baseline.required_slices;
    const present = new Set<string>();
    if (required.length > 0) {
      const rows = await this.rows(
        `SELECT DISTINCT ${label(has(settings.stratifyColumn))} FROM candidate WHERE ${label(has(settings.stratifyColumn))} IN (${required.map(literal).join(', ')})`,
      );
      for (const [s] of rows) present.add(text(s));
    }
    const gaps = required.filter((s) => !present.has(s));
    const coverage = required.length === 0 ? 1 : (required.length - gaps.length) / required.length;
    add('coverage', coverage, 1, t.minCoverage, coverage >= t.minCoverage);

    if (settings.textColumn !== null) {
      const { diversity, toxic } = await this.textMetrics(settings.textColumn, columns, toxicity);
      add(
        'diversity',
        diversity,
        baseline.metrics.diversity ?? null,
        t.minDiversity,
        diversity >= t.minDiversity,
      );
      add('toxicity', toxic, baseline.metrics.toxicity ?? null, t.maxToxicity, toxic <= t.maxToxicity);
    }

    for (const [column, ref] of Object.entries(baseline.columns).sort(([a], [b]) => a.localeCompare(b))) {
      if (ref.type === 'categorical') {
        const counts = new Map<string, number>();
        for (const [v, n] of await this.rows(
          `SELECT ${label(has(column))}, count(*) FROM candidate GROUP BY 1`,
        )) {
          counts.set(text(v), Number(n));
        }
        const value = psiFromCounts(ref.frequencies, counts);
        add(`drift_psi:${column}`, value, 0, t.maxPsi, value <= t.maxPsi);
      } else {
        const value = await this.ks(has(column), ref.values);
        add(`drift_ks:${column}`, value, 0, t.maxKs, value <= t.maxKs);
      }
    }
    return { metrics, gaps };
  }

  /**
   * Distinct word bigrams over all bigrams (lower-cased, split on whitespace) in SQL; toxicity over
   * the texts streamed in bounded batches. A column absent or holding no text is refused by name.
   */
  private async textMetrics(column: string, columns: Map<string, string>, toxicity: ToxicityScorer) {
    if (!columns.has(column) || HELPERS.includes(column)) {
      const names = [...columns.keys()].filter((c) => !HELPERS.includes(c)).sort();
      throw new AppError(
        'QG_ERR_TEXT_COLUMN',
        `text column "${column}" is absent from the candidate (its columns: ${names.join(', ') || 'none'}); ` +
          "set the job's text_column, or text_column: null for a dataset without text",
      );
    }
    const texts =
      columns.get(column) === 'VARCHAR'
        ? Number(await this.scalar(`SELECT count(${ident(column)}) FROM candidate`))
        : 0;
    if (texts === 0) {
      throw new AppError('QG_ERR_TEXT_COLUMN', `text column "${column}" holds no text in any candidate row`);
    }
    const [[total, distinct] = [0, 0]] = await this.rows(`
      WITH w AS (
        SELECT list_filter(regexp_split_to_array(lower(${ident(column)}), ${literal(WORD_SEPARATOR)}), x -> x <> '') AS ws
        FROM candidate WHERE ${ident(column)} IS NOT NULL
      ), b AS (SELECT ws[i] || ' ' || ws[i + 1] AS g FROM (SELECT ws, unnest(range(1, len(ws))) AS i FROM w))
      SELECT count(*), count(DISTINCT g) FROM b`);
    const diversity = Number(total) === 0 ? 1 : Number(distinct) / Number(total);
    // Scoring is JavaScript, row by row: past toxicityMaxTexts, a uniform subsample chosen by the
    // rows' keys estimates the share (standard error at most 0.5/sqrt(n)).
    const share = Math.min(1, this.opts.toxicityMaxTexts / texts);
    const chosen =
      share >= 1 ? '' : ` AND ('0x' || md5('toxicity:' || __key)[1:8])::UBIGINT < ${dropThreshold(share)}`;
    let toxic = 0;
    let scored = 0;
    const result = await this.conn.stream(
      `SELECT ${ident(column)} FROM candidate WHERE ${ident(column)} IS NOT NULL${chosen}`,
    );
    for await (const rows of result.yieldRowsJs()) {
      for (const [value] of rows) {
        scored++;
        if (toxicity.isToxic(text(value))) toxic++;
      }
    }
    return { diversity, toxic: scored === 0 ? 0 : toxic / scored };
  }

  /**
   * Exact two-sample Kolmogorov–Smirnov statistic in SQL: the largest gap between the empirical CDFs
   * of the baseline's values and the candidate's finite numeric values, over every distinct value.
   */
  private async ks(column: string | undefined, reference: readonly number[]): Promise<number> {
    const candidateCount =
      column === undefined
        ? 0
        : Number(
            await this.scalar(
              `SELECT count(*) FROM candidate WHERE isfinite(TRY_CAST(${ident(column)} AS DOUBLE))`,
            ),
          );
    if (reference.length === 0 || candidateCount === 0)
      return ksStatistic(reference, candidateCount === 0 ? [] : [0]);
    const table = `ref_${Math.random().toString(36).slice(2, 8)}`;
    await this.conn.run(`CREATE TABLE ${table} (v DOUBLE)`);
    const appender = await this.conn.createAppender(table);
    for (const v of reference) {
      appender.appendDouble(v);
      appender.endRow();
    }
    appender.closeSync();
    const d = await this.scalar(`
      WITH pts AS (
        SELECT v, 1 AS a, 0 AS b FROM ${table}
        UNION ALL
        SELECT TRY_CAST(${ident(column!)} AS DOUBLE), 0, 1 FROM candidate WHERE isfinite(TRY_CAST(${ident(column!)} AS DOUBLE))
      ), g AS (SELECT v, sum(a) AS na, sum(b) AS nb FROM pts GROUP BY v)
      SELECT coalesce(max(abs(ca - cb)), 0) FROM (
        SELECT sum(na) OVER (ORDER BY v) / ${reference.length}::DOUBLE AS ca,
               sum(nb) OVER (ORDER BY v) / ${candidateCount}::DOUBLE AS cb
        FROM g)`);
    await this.conn.run(`DROP TABLE ${table}`);
    return Number(d);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.closeSync();
      this.instance.closeSync();
    } finally {
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  private async columns(relation: string): Promise<Map<string, string>> {
    const rows = await this.rows(`SELECT column_name, column_type FROM (DESCRIBE ${relation})`);
    return new Map(rows.map(([name, type]) => [text(name), text(type)]));
  }

  private async rows(sql: string): Promise<JS[][]> {
    return (await this.conn.runAndReadAll(sql)).getRowsJS();
  }

  private async scalar(sql: string): Promise<JS> {
    return (await this.rows(sql))[0]?.[0] ?? null;
  }
}

/** The words of a text: runs of ASCII whitespace separate them (see domain/sampling.ts). */
function wordsSql(column: string): string {
  return `list_filter(regexp_split_to_array(${column}, ${literal(WORD_SEPARATOR)}), w -> w <> '')`;
}

/** The words kept by dropout: word i of a row goes when its draw falls under the rate. */
function keptSql(words: string, seed: number, rate: number): string {
  return `list_filter(${words}, (w, i) -> ('0x' || md5(${literal(`${seed}:dropout:`)} || __key || ':' || i)[1:8])::UBIGINT >= ${dropThreshold(rate)})`;
}

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Runs a step of DuckDB work: an AppError passes as it is (a text column absent, a plugged
 * augmentation's own), any other error is DuckDB's and retrying the same SQL on the same data will
 * not change it: not retriable, named with the step.
 */
async function engineStep<T>(step: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('QG_ERR_ENGINE', `the embedded engine failed in ${step}: ${firstLine(err)}`, {
      cause: err,
    });
  }
}

/** A value DuckDB answered as text (the columns read here are VARCHAR, counts, names). */
function text(value: JS | undefined): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'object')
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return String(value);
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
