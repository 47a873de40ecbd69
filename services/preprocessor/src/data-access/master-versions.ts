import type { Pool } from '@tributary/db';

/** One committed master version as the admin API shows it (read from `master_versions`). */
export interface MasterVersionView {
  dataset: string;
  version: number;
  previous_version: number | null;
  checksum: string;
  row_count: number;
  rows_added: number;
  rows_updated: number;
  rows_rejected: number;
  batch_ids: string[];
  raw_checksums: Record<string, string> | null;
  contract: { name: string; version: string };
  location: string;
  dvc_file: string;
  rejection_report_uri: string | null;
  /** Run (trace) id of the merge; null for versions committed before it was kept. */
  run_id: string | null;
  committed_at: string;
}

interface Row {
  dataset: string;
  version: string;
  previous_version: string | null;
  checksum: string;
  row_count: string;
  rows_added: string;
  rows_updated: string;
  rows_rejected: string;
  batch_ids: string[];
  raw_checksums: Record<string, string> | null;
  contract_name: string;
  contract_version: string;
  location: string;
  dvc_file: string;
  rejection_report_uri: string | null;
  run_id: string | null;
  committed_at: Date;
}

const COLUMNS = `dataset, version, previous_version, checksum, row_count, rows_added, rows_updated, rows_rejected,
  batch_ids, raw_checksums, contract_name, contract_version, location, dvc_file, rejection_report_uri, run_id, committed_at`;

function toView(r: Row): MasterVersionView {
  return {
    dataset: r.dataset,
    version: Number(r.version),
    previous_version: r.previous_version === null ? null : Number(r.previous_version),
    checksum: r.checksum,
    row_count: Number(r.row_count),
    rows_added: Number(r.rows_added),
    rows_updated: Number(r.rows_updated),
    rows_rejected: Number(r.rows_rejected),
    batch_ids: r.batch_ids,
    raw_checksums: r.raw_checksums,
    contract: { name: r.contract_name, version: r.contract_version },
    location: r.location,
    dvc_file: r.dvc_file,
    rejection_report_uri: r.rejection_report_uri,
    run_id: r.run_id,
    committed_at: r.committed_at.toISOString(),
  };
}

/** Read side of the committed master versions (lineage queries). */
export class MasterVersionsReader {
  private readonly pool: Pool;
  constructor(pool: Pool) {
    this.pool = pool;
  }

  async get(dataset: string, version: number): Promise<MasterVersionView | undefined> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM master_versions WHERE dataset = $1 AND version = $2`,
      [dataset, version],
    );
    return rows[0] && toView(rows[0]);
  }

  /** The versions of a dataset, newest first; with `batchId`, only the one(s) that merged that batch. */
  async list(
    dataset: string,
    opts: { batchId?: string | undefined; limit: number },
  ): Promise<MasterVersionView[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM master_versions
        WHERE dataset = $1 AND ($2::text IS NULL OR $2 = ANY(batch_ids))
        ORDER BY version DESC LIMIT $3`,
      [dataset, opts.batchId ?? null, opts.limit],
    );
    return rows.map(toView);
  }
}
