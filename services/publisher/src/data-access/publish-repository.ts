import { withTransaction, type Pool, type PoolClient } from '@tributary/db';
import { datasetPublished, type DatasetPublished, type QualityEvaluated } from '@tributary/events';
import { enqueueEvent } from '@tributary/outbox';
import type { ArchiveRecord, CatalogEntry, PublishRepository } from '../domain/ports.ts';

/** A publish an earlier release parked for its retry. */
export interface LegacyParked {
  evaluated: QualityEvaluated;
  runId: string;
  traceparent: string | null;
  /** The attempt its retry is. */
  attempt: number;
  dueAt: Date;
}
import type { RetentionPolicy } from '../domain/retention.ts';

/** The order of versions: when the gate evaluated them; the version id (bytewise, as isAfter) breaks ties. */
const LATEST_FIRST = 'evaluated_at DESC, dataset_version COLLATE "C" DESC';

const LOCK_SQL = (fn: 'pg_advisory_lock' | 'pg_advisory_unlock') =>
  `SELECT ${fn}(hashtext('tributary-publisher-current'), hashtext(current_schema() || '/' || $1))`;

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
  evaluated_at: Date;
  run_id: string | null;
  declared_by: string | null;
  published_at: Date;
}

/** The metadata catalog and the archive records, in the service's Postgres schema. */
export class PgPublishRepository implements PublishRepository {
  private readonly pool: Pool;
  constructor(pool: Pool) {
    this.pool = pool;
  }

  async findCatalog(datasetVersion: string): Promise<CatalogEntry | undefined> {
    const { rows } = await this.pool.query<CatalogRow>(
      'SELECT * FROM dataset_catalog WHERE dataset_version = $1',
      [datasetVersion],
    );
    return rows[0] && toEntry(rows[0]);
  }

  async latest(dataset: string, before?: Date): Promise<CatalogEntry | undefined> {
    const { rows } = await this.pool.query<CatalogRow>(
      `SELECT * FROM dataset_catalog WHERE dataset = $1 AND ($2::timestamptz IS NULL OR evaluated_at < $2)
       ORDER BY ${LATEST_FIRST} LIMIT 1`,
      [dataset, before ?? null],
    );
    return rows[0] && toEntry(rows[0]);
  }

  /**
   * Newest first, in the order of latest(). `dataset` names an evaluation set, or a declared dataset
   * (every evaluation set it declares), so a batch's lineage finds what its dataset published.
   */
  async list(dataset: string | undefined, limit: number, masterVersion?: number): Promise<CatalogEntry[]> {
    const { rows } = await this.pool.query<CatalogRow>(
      `SELECT * FROM dataset_catalog WHERE ($1::text IS NULL OR dataset = $1 OR declared_by = $1)
         AND ($3::bigint IS NULL OR master_version = $3)
       ORDER BY ${LATEST_FIRST} LIMIT $2`,
      [dataset ?? null, limit, masterVersion ?? null],
    );
    return rows.map(toEntry);
  }

  /**
   * A session advisory lock on a connection of its own, keyed by schema and dataset (test schemas
   * and other services share the database). Releasing the connection destroyed ends the session,
   * which frees the lock even when the unlock could not run.
   */
  async withDatasetLock<T>(dataset: string, fn: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query(LOCK_SQL('pg_advisory_lock'), [dataset]);
    } catch (err) {
      client.release(true);
      throw err;
    }
    try {
      return await fn();
    } finally {
      const unlocked = await client.query(LOCK_SQL('pg_advisory_unlock'), [dataset]).then(
        () => true,
        () => false,
      );
      client.release(!unlocked);
    }
  }

  async recordPublished(e: CatalogEntry, event: DatasetPublished): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(
        `INSERT INTO dataset_catalog (dataset_version, dataset, source_hash, master_version, location, checksum,
           manifest_uri, quality_report_uri, generated_at, evaluated_at, run_id, declared_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
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
          e.evaluatedAt,
          e.runId,
          e.declaredBy,
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

  /**
   * Hands the publishes parked by the retry poller of earlier releases (table publish_retries) over
   * to `park`, in the transaction that deletes them: each becomes one job, whatever the replicas.
   */
  async handOverParked(park: (parked: LegacyParked, tx: PoolClient) => Promise<void>): Promise<number> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{
        event: QualityEvaluated;
        run_id: string;
        traceparent: string | null;
        attempt: number;
        next_attempt_at: Date | null;
      }>('DELETE FROM publish_retries RETURNING event, run_id, traceparent, attempt, next_attempt_at');
      for (const r of rows) {
        await park(
          {
            evaluated: r.event,
            runId: r.run_id,
            traceparent: r.traceparent,
            attempt: r.attempt,
            dueAt: r.next_attempt_at ?? new Date(),
          },
          client,
        );
      }
      return rows.length;
    });
  }

  /** Archives older than the retention of their evaluation set (`dataset`) that still have objects. */
  async expiredArchives(policy: RetentionPolicy): Promise<{ datasetVersion: string; prefix: string }[]> {
    const { rows } = await this.pool.query<{ dataset_version: string; prefix: string }>(
      `SELECT dataset_version, prefix FROM archives
       WHERE swept_at IS NULL
         AND archived_at < now() - make_interval(days => coalesce(($2::jsonb ->> dataset)::integer, $1))`,
      [policy.defaultDays, JSON.stringify(policy.byEvaluationSet)],
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
    evaluatedAt: r.evaluated_at.toISOString(),
    runId: r.run_id,
    declaredBy: r.declared_by,
    publishedAt: r.published_at.toISOString(),
  };
}
