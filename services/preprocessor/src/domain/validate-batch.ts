import { createHash } from 'node:crypto';
import path from 'node:path';
import type { DataContract, RowValidator, Violation } from '@tributary/contracts';
import type { BatchIngested } from '@tributary/events';
import { decideFate, type BatchFate } from './fate.ts';
import { sortFiles } from './file-roles.ts';
import type { DataStore, ImageCeilings, ImageProcessor, RowRef, TableSession } from './ports.ts';

/** One entry of a rejection report: a bad row and every reason it is bad. */
export interface RejectedRow {
  file: string;
  row: number;
  primary_key: Record<string, string | null>;
  reasons: Violation[];
}

/** A new canonical image of the batch, already stored as a DVC object. */
export interface CanonicalImage {
  relpath: string;
  md5: string;
  size: number;
}

export interface ValidatedBatch {
  totalRows: number;
  rejected: RejectedRow[];
  fate: BatchFate;
  /** The batch's good rows as one Parquet part (local file), when the fate is merge. */
  part?: { localPath: string; rows: number; keyMin: string | null; keyMax: string | null };
  images: CanonicalImage[];
  /** Files of the batch no row links to (a README, an unused image): reported, not merged. */
  unreferenced: string[];
}

export interface ValidateDeps {
  store: DataStore;
  images: ImageProcessor;
  imageCeilings: ImageCeilings;
  imageConcurrency: number;
  /** Between chunks of rows, so a long validation lets heartbeats and other work through. */
  yieldNow: () => Promise<void>;
  /** Tables up to this many rows are checked in JavaScript (default JS_VALIDATION_MAX_ROWS). */
  jsValidationMaxRows?: number;
}

/**
 * Tables up to this many rows are checked value by value in JavaScript (one engine chunk: no
 * query to plan); larger ones by the contract's SQL checks inside the engine. Both give the same
 * verdicts (test/sql-validation.test.ts).
 */
export const JS_VALIDATION_MAX_ROWS = 2048;

/**
 * Checks every row of a batch against its contract, then every linked image, and builds the
 * batch's part from the rows that pass. Runs outside the master lock: it depends on the batch
 * alone, so it can run while another batch merges.
 */
export async function validateBatch(
  deps: ValidateDeps,
  session: TableSession,
  event: BatchIngested,
  validator: RowValidator,
  workDir: string,
  /** false for a dry run: the verdict and report only, no part is built. */
  buildPart = true,
): Promise<ValidatedBatch> {
  const contract = validator.contract;
  const rawPrefix = deps.store.rawPrefixOf(event.raw_location);
  const bad = new Map<string, RejectedRow>();
  const keyOf = (file: string, row: number) => `${file}\u0000${row}`;
  const flag = (file: string, row: number, v: Violation, pk?: Record<string, string | null>) => {
    const id = keyOf(file, row);
    let entry = bad.get(id);
    if (!entry) {
      entry = { file, row, primary_key: pk ?? {}, reasons: [] };
      bad.set(id, entry);
    }
    entry.reasons.push(v);
  };

  const { tables, linked } = await sortFiles(deps.store, event, rawPrefix, workDir);
  const partPath = path.join(workDir, 'batch-part.parquet');
  if (buildPart && tables.length === 1 && !contract.image_column) {
    // Most batches are clean: one scan checks them and writes the part; any bad row falls through.
    const { file: table, local, format } = tables[0]!;
    const clean = await session.writeCleanPart(
      table.path,
      local,
      format,
      contract.columns,
      contract.primary_key,
      event.batch_id,
      partPath,
    );
    if (clean) {
      const fate = decideFate(contract, clean.rows, 0);
      return {
        totalRows: clean.rows,
        rejected: [],
        fate,
        images: [],
        unreferenced: [...linked.keys()].sort(),
        ...(fate.kind === 'merge' ? { part: { localPath: partPath, ...clean } } : {}),
      };
    }
  }
  let totalRows = 0;
  for (const { file: table, local, format } of tables) {
    const staged = await session.stage(table.path, local, format, contract.columns);
    totalRows += staged.rows;
    const keyOfRow = (values: Record<string, unknown[]>, i: number) => {
      const pk: Record<string, string | null> = {};
      for (const k of contract.primary_key) {
        const value = values[k]?.[i];
        pk[k] = value === undefined || value === null ? null : showKey(value);
      }
      return pk;
    };
    if (staged.rows <= (deps.jsValidationMaxRows ?? JS_VALIDATION_MAX_ROWS)) {
      for await (const chunk of session.chunks(table.path, contract.columns)) {
        validator.validateColumns(chunk.values, chunk.rowCount, (i, v) => {
          flag(table.path, chunk.start + i + 1, v, keyOfRow(chunk.values, i));
        });
        await deps.yieldNow();
      }
      continue;
    }
    // Large tables: the engine runs the contract's rules; the validator words what they found.
    for await (const failing of session.failingRows(table.path, contract.columns)) {
      failing.rows.forEach((row, i) => {
        let pk: Record<string, string | null> | undefined;
        for (const name of validator.columns) {
          if (failing.rules[name]![i] === null) continue;
          const v = validator.validateValue(name, failing.values[name]?.[i]);
          if (v) flag(table.path, row, v, (pk ??= keyOfRow(failing.values, i)));
        }
      });
      await deps.yieldNow();
    }
  }

  for (const r of await session.buildTyped()) {
    flag(r.file, r.row, {
      column: null,
      rule: 'type',
      message: "a value does not convert to the master's type",
    });
  }
  await flagDuplicates(session, contract, flag);
  await session.markBad([...bad.values()]);

  // The contract's image column says which linked files are images; the others are only reported.
  const { images, referenced } = contract.image_column
    ? await checkImages(deps, session, linked, contract, rawPrefix, flag)
    : { images: [], referenced: new Set<string>() };
  const unreferenced = [...linked.keys()].filter((p) => !referenced.has(p)).sort();

  const fate = decideFate(contract, totalRows, bad.size);
  const result: ValidatedBatch = {
    totalRows,
    rejected: sortRows([...bad.values()]),
    fate,
    images,
    unreferenced,
  };
  if (fate.kind === 'merge' && buildPart) {
    const stats = await session.writeBatchPart(
      contract.columns,
      contract.primary_key,
      contract.image_column,
      event.batch_id,
      partPath,
    );
    result.part = { localPath: partPath, ...stats };
  }
  return result;
}

async function flagDuplicates(
  session: TableSession,
  contract: DataContract,
  flag: (file: string, row: number, v: Violation, pk?: Record<string, string | null>) => void,
): Promise<void> {
  const checks: { columns: string[]; rule: 'duplicate_key' | 'unique' }[] = [
    { columns: contract.primary_key, rule: 'duplicate_key' },
    ...contract.columns
      .filter((c) => c.unique && !(contract.primary_key.length === 1 && contract.primary_key[0] === c.name))
      .map((c) => ({ columns: [c.name], rule: 'unique' as const })),
  ];
  for (const check of checks) {
    for (const group of await session.duplicates(check.columns)) {
      const what = check.columns.map((c, i) => `${c}=${group.values[i]}`).join(', ');
      const where = group.rows.map((r) => `${r.file} row ${r.row}`).join(', ');
      const pk =
        check.rule === 'duplicate_key'
          ? Object.fromEntries(check.columns.map((c, i) => [c, group.values[i]!]))
          : undefined;
      for (const r of group.rows) {
        flag(
          r.file,
          r.row,
          {
            column: check.rule === 'unique' ? check.columns[0]! : null,
            rule: check.rule,
            message: `${what} appears ${group.rows.length} times in the batch (${where})`,
          },
          pk,
        );
      }
    }
  }
}

/** Canonicalises every linked file a row's image column names; a row naming a bad one is flagged. */
async function checkImages(
  deps: ValidateDeps,
  session: TableSession,
  listed: ReadonlyMap<string, BatchIngested['files'][number]>,
  contract: DataContract,
  rawPrefix: string,
  flag: (file: string, row: number, v: Violation, pk?: Record<string, string | null>) => void,
): Promise<{ images: CanonicalImage[]; referenced: Set<string> }> {
  const column = contract.image_column!;
  const rules = contract.images!;
  const refs = await session.imageRefs(column, contract.primary_key);
  const byPath = new Map<string, (RowRef & { key: Record<string, string | null> })[]>();
  for (const r of refs) {
    // Appended in place: many rows may share one image, and copying per row would be quadratic.
    const rows = byPath.get(r.path);
    if (rows) rows.push(r);
    else byPath.set(r.path, [r]);
  }

  const outcome = new Map<string, { relpath: string; md5: string; size: number } | { reason: string }>();
  const paths = [...byPath.keys()].sort();
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const p = paths[next++]!;
      outcome.set(p, await canonicalOne(deps, rules, rawPrefix, p, listed.get(normalise(p))));
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.imageConcurrency, paths.length) }, worker));

  const failed: RowRef[] = [];
  const mapping = new Map<string, string>();
  const images = new Map<string, CanonicalImage>();
  for (const p of paths) {
    const o = outcome.get(p)!;
    if ('reason' in o) {
      for (const r of byPath.get(p)!) {
        flag(
          r.file,
          r.row,
          { column, rule: 'image', message: `${column} ${JSON.stringify(p)}: ${o.reason}` },
          r.key,
        );
        failed.push(r);
      }
    } else {
      mapping.set(p, o.relpath);
      images.set(o.relpath, o);
    }
  }
  await session.markBad(failed);
  await session.mapImages(mapping);
  return {
    images: [...images.values()].sort((a, b) => (a.relpath < b.relpath ? -1 : 1)),
    referenced: new Set(paths.map(normalise)),
  };
}

async function canonicalOne(
  deps: ValidateDeps,
  rules: NonNullable<DataContract['images']>,
  rawPrefix: string,
  imagePath: string,
  file: BatchIngested['files'][number] | undefined,
): Promise<CanonicalImage | { reason: string }> {
  if (!file) return { reason: 'is not an image file of the batch' };
  const bytes = await deps.store.read(`${rawPrefix}/${file.path}`);
  if (!bytes) return { reason: 'is missing from the raw batch' };
  if (createHash('sha256').update(bytes).digest('hex') !== file.sha256) {
    return { reason: 'does not match the sha256 the batch declares' };
  }
  const result = await deps.images.canonicalise(bytes, rules, deps.imageCeilings);
  if (!result.ok) return { reason: result.reason };
  await deps.store.putDvcObject(result.md5, result.bytes);
  return { relpath: result.relpath, md5: result.md5, size: result.size };
}

function showKey(value: unknown): string {
  return typeof value === 'string'
    ? value
    : typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean'
      ? String(value)
      : JSON.stringify(value);
}

function normalise(p: string): string {
  const n = path.posix.normalize(p).replace(/^\.\//, '');
  return n.startsWith('../') || n.startsWith('/') ? `\u0000${p}` : n;
}

function sortRows(rows: RejectedRow[]): RejectedRow[] {
  return rows.sort((a, b) => (a.file === b.file ? a.row - b.row : a.file < b.file ? -1 : 1));
}

/** The rejection report: JSON Lines, one bad row per line, in file and row order, each with the run id. */
export function renderReport(rows: readonly RejectedRow[], runId: string): string {
  return rows.map((r) => JSON.stringify({ ...r, run_id: runId })).join('\n') + (rows.length > 0 ? '\n' : '');
}
