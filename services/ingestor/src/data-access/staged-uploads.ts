import type { Pool } from '@tributary/db';

/** The digests of a staged file, as they were taken while it was stored. */
export interface StagedDigests {
  sha256: string;
  md5: string;
  size: number;
}

/**
 * What the ingestor knows of the files it staged itself (HTTP uploads, keys of the data store): their
 * digests, recorded once each file is stored whole. The ingest of such a file trusts them, since
 * nothing but the ingestor writes the staging area, and copies the object instead of reading it.
 */
export class StagedUploads {
  private readonly pool: Pool;
  constructor(pool: Pool) {
    this.pool = pool;
  }

  async record(key: string, digests: StagedDigests): Promise<void> {
    await this.pool.query(
      `INSERT INTO staged_uploads (key, sha256, md5, size_bytes) VALUES ($1, $2, $3, $4)
       ON CONFLICT (key) DO UPDATE SET sha256 = $2, md5 = $3, size_bytes = $4, staged_at = now()`,
      [key, digests.sha256, digests.md5, digests.size],
    );
  }

  async find(key: string): Promise<StagedDigests | undefined> {
    const { rows } = await this.pool.query<{ sha256: string; md5: string; size_bytes: string }>(
      'SELECT sha256, md5, size_bytes FROM staged_uploads WHERE key = $1',
      [key],
    );
    const row = rows[0];
    return row && { sha256: row.sha256, md5: row.md5, size: Number(row.size_bytes) };
  }

  async forget(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.pool.query('DELETE FROM staged_uploads WHERE key = ANY($1)', [keys]);
  }
}
