import type { Pool } from '@tributary/db';
import { dvcObjectKey } from '@tributary/dvc';
import type { RejectedRow } from '../domain/validate-batch.ts';
import { DVC_PREFIX, type ObjectDataStore } from './data-store.ts';

/** What the preprocessor decided on a batch, with every row it refused and why. */
export interface RejectionReport {
  batch_id: string;
  dataset: string;
  outcome: 'merged' | 'rejected';
  master_version: number | null;
  rows_merged: number;
  rows_rejected: number;
  report_uri: string | null;
  processed_at: string;
  /** The report's rows (file, row, primary key, reasons); empty when no row was refused. */
  rows: (RejectedRow & { run_id?: string })[];
}

/** Reads a processed batch and its rejection report (JSON Lines in the data store). */
export class RejectionReports {
  private readonly pool: Pool;
  private readonly store: ObjectDataStore;
  constructor(pool: Pool, store: ObjectDataStore) {
    this.pool = pool;
    this.store = store;
  }

  async find(batchId: string): Promise<RejectionReport | undefined> {
    const { rows } = await this.pool.query<{
      batch_id: string;
      dataset: string;
      outcome: 'merged' | 'rejected';
      master_version: string | null;
      rows_merged: string;
      rows_rejected: string;
      report_uri: string | null;
      processed_at: Date;
    }>('SELECT * FROM processed_batches WHERE batch_id = $1', [batchId]);
    const row = rows[0];
    if (!row) return undefined;
    // A conflict's report is one JSON document, not rows; only the rejections file lists rows.
    const lines =
      row.report_uri?.endsWith('.jsonl') === true
        ? ((await this.store.read(this.store.rawPrefixOf(row.report_uri)))?.toString('utf8') ?? '')
        : '';
    return {
      batch_id: row.batch_id,
      dataset: row.dataset,
      outcome: row.outcome,
      master_version: row.master_version === null ? null : Number(row.master_version),
      rows_merged: Number(row.rows_merged),
      rows_rejected: Number(row.rows_rejected),
      report_uri: row.report_uri,
      processed_at: row.processed_at.toISOString(),
      rows: lines
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as RejectedRow & { run_id?: string }),
    };
  }

  /**
   * The files of a DVC directory in the data store's remote (a raw batch, a master version): each
   * path with its md5, from the `.dir` object; undefined when no such object is stored.
   */
  async directory(md5: string): Promise<{ relpath: string; md5: string }[] | undefined> {
    if (!/^[0-9a-f]{32}\.dir$/.test(md5)) return undefined;
    const body = await this.store.read(`${DVC_PREFIX}/${dvcObjectKey(md5)}`);
    return body && (JSON.parse(body.toString('utf8')) as { relpath: string; md5: string }[]);
  }
}
