import { withTransaction, type Pool } from '@tributary/db';
import { datasetPublished, type DatasetPublished } from '@tributary/events';
import { enqueueEvent } from '@tributary/outbox';
import type { ArchiveRecord, CatalogEntry, PublishRepository } from '../domain/ports.ts';

interface CatalogRow {
  dataset_version: string;
  dataset: string;
  source_hash: string;
  master_version: string | null;
  location: string;
  checksum: string;
  manifest_uri: string;
  quality_report_uri: string;
  generated_at: Date;
  published_at: Date;
}

/** The metadata catalog and the archive records, in the service's Postgres schema. */
export class PgPublishRepository implements PublishRepository {
  constructor(private readonly pool: Pool) {}

  async findCatalog(datasetVersion: string): Promise<CatalogEntry | undefined> {
    const { rows } = await this.pool.query<CatalogRow>(
      'SELECT * FROM dataset_catalog WHERE dataset_version = $1',
      [datasetVersion],
    );
    return rows[0] && toEntry(rows[0]);
  }

  async latest(dataset: string): Promise<CatalogEntry | undefined> {
    const { rows } = await this.pool.query<CatalogRow>(
      'SELECT * FROM dataset_catalog WHERE dataset = $1 ORDER BY published_at DESC LIMIT 1',
      [dataset],
    );
    return rows[0] && toEntry(rows[0]);
  }

  async list(dataset: string | undefined, limit: number): Promise<CatalogEntry[]> {
    const { rows } = await this.pool.query<CatalogRow>(
      `SELECT * FROM dataset_catalog WHERE ($1::text IS NULL OR dataset = $1)
       ORDER BY published_at DESC LIMIT $2`,
      [dataset ?? null, limit],
    );
    return rows.map(toEntry);
  }

  async recordPublished(e: CatalogEntry, event: DatasetPublished): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(
        `INSERT INTO dataset_catalog (dataset_version, dataset, source_hash, master_version, location, checksum,
           manifest_uri, quality_report_uri, generated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
        [
          e.datasetVersion,
          e.dataset,
          e.sourceHash,
          e.masterVersion,
          e.location,
          e.checksum,
          e.manifestUri,
          e.qualityReportUri,
          e.generatedAt,
        ],
      );
      if (rowCount === 1) await enqueueEvent(client, datasetPublished, event);
    });
  }

  async findArchive(datasetVersion: string): Promise<ArchiveRecord | undefined> {
    const { rows } = await this.pool.query<{
      dataset_version: string;
      dataset: string;
      outcome: ArchiveRecord['outcome'];
      reason: string | null;
      prefix: string;
      archived_at: Date;
    }>('SELECT * FROM archives WHERE dataset_version = $1', [datasetVersion]);
    const r = rows[0];
    return (
      r && {
        datasetVersion: r.dataset_version,
        dataset: r.dataset,
        outcome: r.outcome,
        reason: r.reason,
        prefix: r.prefix,
        archivedAt: r.archived_at.toISOString(),
      }
    );
  }

  async recordArchive(r: ArchiveRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO archives (dataset_version, dataset, outcome, reason, prefix)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [r.datasetVersion, r.dataset, r.outcome, r.reason, r.prefix],
    );
  }

  /** Archives older than the retention that still have objects. */
  async expiredArchives(retentionDays: number): Promise<{ datasetVersion: string; prefix: string }[]> {
    const { rows } = await this.pool.query<{ dataset_version: string; prefix: string }>(
      `SELECT dataset_version, prefix FROM archives
       WHERE swept_at IS NULL AND archived_at < now() - make_interval(days => $1)`,
      [retentionDays],
    );
    return rows.map((r) => ({ datasetVersion: r.dataset_version, prefix: r.prefix }));
  }

  async markSwept(datasetVersion: string): Promise<void> {
    await this.pool.query('UPDATE archives SET swept_at = now() WHERE dataset_version = $1', [
      datasetVersion,
    ]);
  }
}

function toEntry(r: CatalogRow): CatalogEntry {
  return {
    dataset: r.dataset,
    datasetVersion: r.dataset_version,
    sourceHash: r.source_hash,
    masterVersion: r.master_version === null ? null : Number(r.master_version),
    location: r.location,
    checksum: r.checksum,
    manifestUri: r.manifest_uri,
    qualityReportUri: r.quality_report_uri,
    generatedAt: r.generated_at.toISOString(),
    publishedAt: r.published_at.toISOString(),
  };
}
