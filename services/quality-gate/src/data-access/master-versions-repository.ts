import type { Pool } from '@tributary/db';
import type { MasterVersion, MasterVersions } from '../domain/ports.ts';

interface MasterRow {
  dataset: string;
  version: string;
  location: string;
  checksum: string;
  row_count: string;
}

/** The master versions the gate has seen, in the service's Postgres schema (`master_versions`). */
export class MasterVersionsRepository implements MasterVersions {
  private readonly pool: Pool;
  constructor(pool: Pool) {
    this.pool = pool;
  }

  async record(m: MasterVersion): Promise<void> {
    // Versions are immutable: a redelivered master.versioned keeps the row of its first delivery.
    await this.pool.query(
      `INSERT INTO master_versions (dataset, version, location, checksum, row_count)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dataset, version) DO NOTHING`,
      [m.dataset, m.version, m.location, m.checksum, m.rowCount],
    );
  }

  async get(dataset: string, version: number): Promise<MasterVersion | undefined> {
    const { rows } = await this.pool.query<MasterRow>(
      'SELECT * FROM master_versions WHERE dataset = $1 AND version = $2',
      [dataset, version],
    );
    return rows[0] && toMaster(rows[0]);
  }

  async latest(dataset: string): Promise<MasterVersion | undefined> {
    const { rows } = await this.pool.query<MasterRow>(
      'SELECT * FROM master_versions WHERE dataset = $1 ORDER BY version DESC LIMIT 1',
      [dataset],
    );
    return rows[0] && toMaster(rows[0]);
  }
}

function toMaster(r: MasterRow): MasterVersion {
  return {
    dataset: r.dataset,
    version: Number(r.version),
    location: r.location,
    checksum: r.checksum,
    rowCount: Number(r.row_count),
  };
}
