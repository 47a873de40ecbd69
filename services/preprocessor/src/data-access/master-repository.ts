import { withTransaction, type Pool } from '@tributary/db';
import { batchRejected, masterVersioned, prefixEvent, type BatchRejected } from '@tributary/events';
import { compareAndSetVersion } from '@tributary/lock';
import { enqueueEvent } from '@tributary/outbox';
import type {
  Announcements,
  BatchRecord,
  MasterFile,
  MasterRepository,
  MasterState,
  MergeCommit,
  RejectionRecord,
} from '../domain/ports.ts';

/** The preprocessor's Postgres state: master versions, files and their zone maps, processed batches. */
export class PgMasterRepository implements MasterRepository {
  private readonly pool: Pool;
  private readonly topicPrefix: string;
  constructor(pool: Pool, topicPrefix: string) {
    this.pool = pool;
    this.topicPrefix = topicPrefix;
  }

  async batchRecord(batchId: string): Promise<BatchRecord | undefined> {
    const { rows } = await this.pool.query<{
      content_hash: string;
      outcome: 'merged' | 'rejected';
      master_version: number | null;
    }>('SELECT content_hash, outcome, master_version FROM processed_batches WHERE batch_id = $1', [batchId]);
    const r = rows[0];
    return r && { contentHash: r.content_hash, outcome: r.outcome, masterVersion: r.master_version };
  }

  async state(dataset: string): Promise<MasterState> {
    const master = await this.pool.query<{
      version: number;
      next_part: number;
      schema_fingerprint: string | null;
      image_refs_ready: boolean;
    }>('SELECT version, next_part, schema_fingerprint, image_refs_ready FROM masters WHERE dataset = $1', [
      dataset,
    ]);
    const files = await this.pool.query<{
      relpath: string;
      kind: 'part' | 'image';
      md5: string;
      size: number;
      row_count: number | null;
      part_no: number | null;
      key_min: string | null;
      key_max: string | null;
    }>(
      `SELECT relpath, kind, md5, size, row_count, part_no, key_min, key_max FROM master_files
        WHERE dataset = $1 AND removed_in IS NULL ORDER BY relpath`,
      [dataset],
    );
    const m = master.rows[0];
    return {
      version: m?.version ?? 0,
      nextPart: m?.next_part ?? 1,
      schemaFingerprint: m?.schema_fingerprint ?? null,
      // A master that does not exist yet has no rows: its (empty) counts are complete.
      imageRefsReady: m?.image_refs_ready ?? true,
      files: files.rows.map((f): MasterFile => ({
        relpath: f.relpath,
        kind: f.kind,
        md5: f.md5,
        size: f.size,
        rowCount: f.row_count,
        partNo: f.part_no,
        keyMin: f.key_min,
        keyMax: f.key_max,
      })),
    };
  }

  async imageRefs(dataset: string, relpaths: readonly string[]): Promise<Map<string, number>> {
    if (relpaths.length === 0) return new Map();
    const { rows } = await this.pool.query<{ relpath: string; refs: number }>(
      'SELECT relpath, refs FROM image_refs WHERE dataset = $1 AND relpath = ANY($2::text[])',
      [dataset, relpaths],
    );
    return new Map(rows.map((r) => [r.relpath, r.refs]));
  }

  async recordIntent(dataset: string, batchId: string, md5s: readonly string[]): Promise<void> {
    await this.pool.query(
      `INSERT INTO pending_parts (dataset, md5, batch_id) SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING`,
      [dataset, md5s, batchId],
    );
  }

  async orphans(dataset: string, graceMs: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ md5: string }>(
      `SELECT DISTINCT p.md5 FROM pending_parts p
        WHERE p.dataset = $1 AND p.created_at < now() - $2 * interval '1 millisecond'
          AND NOT EXISTS (SELECT 1 FROM master_files f WHERE f.dataset = p.dataset AND f.md5 = p.md5)
        ORDER BY p.md5`,
      [dataset, graceMs],
    );
    return rows.map((r) => r.md5);
  }

  async forgetIntents(dataset: string, md5s: readonly string[]): Promise<void> {
    await this.pool.query('DELETE FROM pending_parts WHERE dataset = $1 AND md5 = ANY($2::text[])', [
      dataset,
      md5s,
    ]);
  }

  async commitMerge(c: MergeCommit, events: Announcements, beforeCommit: () => Promise<void>): Promise<void> {
    await withTransaction(this.pool, async (tx) => {
      await tx.query('INSERT INTO masters (dataset) VALUES ($1) ON CONFLICT (dataset) DO NOTHING', [
        c.dataset,
      ]);
      // The fence of invariant 1: refused if anyone committed since this merge read the master.
      await compareAndSetVersion(tx, 'masters', c.dataset, c.expectedVersion, c.version);
      await tx.query('UPDATE masters SET next_part = $2, schema_fingerprint = $3 WHERE dataset = $1', [
        c.dataset,
        c.nextPart,
        c.schemaFingerprint,
      ]);
      if (c.imageRefs) {
        // Absolute counts computed from the state this merge read: the fence above guarantees it is
        // still the committed one, so a retried merge writes the same counts.
        if (c.imageRefs.reset) await tx.query('DELETE FROM image_refs WHERE dataset = $1', [c.dataset]);
        const gone = c.imageRefs.refs.filter((r) => r.refs === 0).map((r) => r.relpath);
        const kept = c.imageRefs.refs.filter((r) => r.refs > 0);
        if (gone.length > 0) {
          await tx.query('DELETE FROM image_refs WHERE dataset = $1 AND relpath = ANY($2::text[])', [
            c.dataset,
            gone,
          ]);
        }
        if (kept.length > 0) {
          await tx.query(
            `INSERT INTO image_refs (dataset, relpath, refs) SELECT $1, * FROM unnest($2::text[], $3::bigint[])
             ON CONFLICT (dataset, relpath) DO UPDATE SET refs = EXCLUDED.refs`,
            [c.dataset, kept.map((r) => r.relpath), kept.map((r) => r.refs)],
          );
        }
        await tx.query('UPDATE masters SET image_refs_ready = true WHERE dataset = $1', [c.dataset]);
      }
      if (c.removedRelpaths.length > 0) {
        await tx.query(
          `UPDATE master_files SET removed_in = $2
            WHERE dataset = $1 AND removed_in IS NULL AND relpath = ANY($3::text[])`,
          [c.dataset, c.version, c.removedRelpaths],
        );
      }
      if (c.addedFiles.length > 0) {
        await tx.query(
          `INSERT INTO master_files (dataset, relpath, kind, md5, size, row_count, part_no, key_min, key_max, added_in)
           SELECT $1, *, $10
             FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[], $9::text[])`,
          [
            c.dataset,
            c.addedFiles.map((f) => f.relpath),
            c.addedFiles.map((f) => f.kind),
            c.addedFiles.map((f) => f.md5),
            c.addedFiles.map((f) => f.size),
            c.addedFiles.map((f) => f.rowCount),
            c.addedFiles.map((f) => f.partNo),
            c.addedFiles.map((f) => f.keyMin),
            c.addedFiles.map((f) => f.keyMax),
            c.version,
          ],
        );
      }
      await tx.query(
        `INSERT INTO current_master_rows (dataset, row_count, master_version) VALUES ($1, $2, $3)
         ON CONFLICT (dataset) DO UPDATE SET row_count = EXCLUDED.row_count,
           master_version = EXCLUDED.master_version, updated_at = now()`,
        [c.dataset, c.rowCount, c.version],
      );
      await tx.query(
        `INSERT INTO processed_batches (batch_id, dataset, content_hash, outcome, master_version, rows_merged,
           rows_rejected, report_uri) VALUES ($1, $2, $3, 'merged', $4, $5, $6, $7)`,
        [
          c.batchId,
          c.dataset,
          c.contentHash,
          c.version,
          c.rowsAdded + c.rowsUpdated,
          c.rowsRejected,
          c.reportUri,
        ],
      );
      // Parts now referenced are no longer pending; a crashed attempt's other parts stay listed for the sweep.
      await tx.query('DELETE FROM pending_parts WHERE dataset = $1 AND md5 = ANY($2::text[])', [
        c.dataset,
        c.addedFiles.filter((f) => f.kind === 'part').map((f) => f.md5),
      ]);
      // Last of the writes, so committed_at (clock_timestamp) is close to the commit itself.
      await tx.query(
        `INSERT INTO master_versions (dataset, version, previous_version, checksum, row_count, rows_added,
           rows_updated, rows_rejected, parts_written, batch_ids, raw_checksums, contract_name, contract_version,
           location, dvc_file, rejection_report_uri, merge_started_at, run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
        [
          c.dataset,
          c.version,
          c.expectedVersion === 0 ? null : c.expectedVersion,
          c.checksum,
          c.rowCount,
          c.rowsAdded,
          c.rowsUpdated,
          c.rowsRejected,
          c.partsWritten,
          [c.batchId],
          JSON.stringify(c.rawChecksums),
          c.contract.name,
          c.contract.version,
          c.location,
          c.dvcFile,
          c.reportUri,
          c.mergeStartedAt,
          c.runId,
        ],
      );
      await enqueueEvent(tx, prefixEvent(masterVersioned, this.topicPrefix), events.masterVersioned);
      if (events.batchRejected) {
        await enqueueEvent(tx, prefixEvent(batchRejected, this.topicPrefix), events.batchRejected);
      }
      await beforeCommit();
    });
  }

  async commitRejection(r: RejectionRecord, event: BatchRejected): Promise<boolean> {
    return withTransaction(this.pool, async (tx) => {
      const { rowCount } = await tx.query(
        `INSERT INTO processed_batches (batch_id, dataset, content_hash, outcome, rows_rejected, report_uri)
         VALUES ($1, $2, $3, 'rejected', $4, $5) ON CONFLICT (batch_id) DO NOTHING`,
        [r.batchId, r.dataset, r.contentHash, r.rowsRejected, r.reportUri],
      );
      if (rowCount !== 1) return false;
      await enqueueEvent(tx, prefixEvent(batchRejected, this.topicPrefix), event);
      return true;
    });
  }

  async commitConflict(eventId: string, event: BatchRejected): Promise<boolean> {
    return withTransaction(this.pool, async (tx) => {
      const { rowCount } = await tx.query(
        `INSERT INTO processed_events (event_id, topic) VALUES ($1, 'batch.ingested') ON CONFLICT DO NOTHING`,
        [eventId],
      );
      if (rowCount !== 1) return false;
      await enqueueEvent(tx, prefixEvent(batchRejected, this.topicPrefix), event);
      return true;
    });
  }
}
