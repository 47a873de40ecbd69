import { withTransaction, type Pool, type PoolClient } from '@tributary/db';
import { pgToAppError } from '@tributary/errors';
import {
  batchIngested,
  batchReady,
  batchRejected,
  type BatchIngested,
  type BatchReady,
  type BatchRejected,
} from '@tributary/events';
import { enqueueEvent } from '@tributary/outbox';
import type {
  AttemptOutcome,
  AttemptStatus,
  BatchClaim,
  BatchRepository,
  BatchSummary,
  BatchView,
  ClaimResult,
  IngestedFile,
  EarlierDecision,
  MergeOutcome,
  RawSnapshot,
  Rejection,
} from '../domain/ports.ts';

interface BatchRow {
  id: string;
  dataset: string;
  producer: string;
  source: string;
  contract_name: string;
  contract_version: string;
  content_hash: string;
  status: 'INGESTING' | 'INGESTED' | 'REJECTED';
  error_code: string | null;
  reason: string | null;
  raw_location: string | null;
  raw_dvc_file: string | null;
  raw_md5: string | null;
  /** jsonb: an ingested batch's files (IngestedReport), or a rejection's problems. */
  report: unknown;
  report_uri: string | null;
  run_id: string;
  created_at: Date;
  updated_at: Date;
  ingested_at: Date | null;
  merge_status: 'MERGED' | 'REJECTED' | null;
  /** bigint: pg returns it as a string. */
  master_version: string | null;
  merge_error_code: string | null;
  merge_reason: string | null;
  merge_report_uri: string | null;
  merge_rows_rejected: string | null;
  merge_unreferenced_files: string[] | null;
  merge_decided_at: Date | null;
}

interface AttemptRow {
  batch_id: string;
  content_hash: string;
  dataset: string;
  source: string;
  status: AttemptStatus;
  error_code: string | null;
  reason: string | null;
  report_uri: string | null;
  run_id: string | null;
  submitted_at: Date;
  decided_at: Date | null;
}

/** The batches and batch_attempts tables, and the outbox they share transactions with. */
export class PgBatchRepository implements BatchRepository {
  private readonly pool: Pool;
  private readonly takeoverAfterMs: number;
  /**
   * @param takeoverAfterMs An unfinished ingest (INGESTING) younger than this holds its batch id:
   *   other content under that id is refused as a conflict. Older, it is taken to have died with its
   *   replica and a new submission may take the id over.
   */
  constructor(pool: Pool, takeoverAfterMs: number) {
    this.pool = pool;
    this.takeoverAfterMs = takeoverAfterMs;
  }

  claim(c: BatchClaim, stands: (codes: readonly string[]) => boolean): Promise<ClaimResult> {
    // The columns a claim sets, first insert or takeover alike ($1..$8 of both statements).
    const identity = [
      c.batchId,
      c.dataset,
      c.producer,
      c.source,
      c.contract.name,
      c.contract.version,
      c.contentHash,
      c.runId,
    ];
    return withTransaction(this.pool, async (client) => {
      const inserted = await client.query(
        `INSERT INTO batches (id, dataset, producer, source, contract_name, contract_version, content_hash, status, run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'INGESTING', $8)
         ON CONFLICT (id) DO NOTHING`,
        identity,
      );
      if (inserted.rowCount === 1) {
        await upsertAttempt(client, c, 'INGESTING');
        return { kind: 'claimed', takeover: false };
      }
      const { rows } = await client.query<
        Pick<BatchRow, 'status' | 'content_hash' | 'dataset' | 'error_code' | 'updated_at' | 'run_id'> & {
          live: boolean;
          report: StoredReport | null;
        }
      >(
        `SELECT status, content_hash, dataset, error_code, report, updated_at, run_id,
                updated_at > now() - make_interval(secs => $2::float8 / 1000) AS live
           FROM batches WHERE id = $1 FOR UPDATE`,
        [c.batchId, this.takeoverAfterMs],
      );
      const row = rows[0]!;
      const same = row.content_hash === c.contentHash && row.dataset === c.dataset;
      const conflict = (existingStatus: 'INGESTED' | 'INGESTING'): ClaimResult => ({
        kind: 'conflict',
        existingStatus,
        existingDataset: row.dataset,
        existingContentHash: row.content_hash,
      });
      if (row.status === 'INGESTED')
        return same ? { kind: 'duplicate', status: 'INGESTED' } : conflict('INGESTED');
      // A new submission (another run) of a content whose rejection does not stand is processed again;
      // a redelivery of the message that was rejected (same run) stays acknowledged, announced once.
      const reopen =
        row.status === 'REJECTED' &&
        same &&
        row.run_id !== c.runId &&
        !stands(problemCodes(row.report, row.error_code));
      if (row.status === 'REJECTED' && same && !reopen) return { kind: 'duplicate', status: 'REJECTED' };
      // Two contents under one id at once: the one being ingested keeps it (invariant 2).
      if (row.status === 'INGESTING' && !same && row.live) return conflict('INGESTING');
      // Rejected with other content, or an attempt that died (same content, or stale): this delivery takes the id.
      await client.query(
        `UPDATE batches
            SET dataset = $2, producer = $3, source = $4, contract_name = $5, contract_version = $6,
                content_hash = $7, status = 'INGESTING', run_id = $8, error_code = NULL, reason = NULL,
                raw_location = NULL, raw_dvc_file = NULL, raw_md5 = NULL, report = NULL, report_uri = NULL,
                updated_at = now()
          WHERE id = $1`,
        identity,
      );
      await upsertAttempt(client, c, 'INGESTING');
      return reopen
        ? {
            kind: 'claimed',
            takeover: false,
            reopened: { errorCode: row.error_code, decidedAt: row.updated_at.toISOString() },
          }
        : { kind: 'claimed', takeover: row.status === 'INGESTING' };
    });
  }

  markIngested(c: BatchClaim, snapshot: RawSnapshot, event: BatchIngested): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const report: IngestedReport = {
        nfiles: snapshot.nfiles,
        size_bytes: snapshot.size,
        files: event.files.map((f) => ({
          path: f.path,
          role: f.role,
          sha256: f.sha256,
          md5: f.md5,
          size_bytes: f.size_bytes,
        })),
      };
      const { rowCount } = await client.query(
        `UPDATE batches
            SET status = 'INGESTED', raw_location = $3, raw_dvc_file = $4, raw_md5 = $5, report = $6,
                run_id = $7, updated_at = now(), ingested_at = now()
          WHERE id = $1 AND content_hash = $2 AND status = 'INGESTING'`,
        [
          c.batchId,
          c.contentHash,
          snapshot.rawLocation,
          snapshot.rawDvcFile,
          snapshot.rawMd5,
          JSON.stringify(report),
          c.runId,
        ],
      );
      if (rowCount !== 1) return false;
      await upsertAttempt(client, c, 'INGESTED');
      await enqueueEvent(client, batchIngested, event);
      return true;
    });
  }

  markRejected(c: BatchClaim, rejection: Rejection, event: BatchRejected): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(
        `UPDATE batches
            SET status = 'REJECTED', error_code = $3, reason = $4, report = $5, report_uri = $6,
                run_id = $7, updated_at = now()
          WHERE id = $1 AND content_hash = $2 AND status = 'INGESTING'`,
        [
          c.batchId,
          c.contentHash,
          rejection.errorCode,
          rejection.reason,
          JSON.stringify(rejection.report),
          rejection.reportUri,
          c.runId,
        ],
      );
      if (rowCount !== 1) return false;
      await upsertAttempt(client, c, 'REJECTED', rejection);
      await enqueueEvent(client, batchRejected, event);
      return true;
    });
  }

  recordConflict(c: BatchClaim, rejection: Rejection, event: BatchRejected): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      // Only the first refusal of this content is announced: a redelivery finds it REJECTED.
      const { rowCount } = await client.query(
        `INSERT INTO batch_attempts AS a (batch_id, content_hash, dataset, source, status, error_code, reason, report_uri, run_id, decided_at)
         VALUES ($1, $2, $3, $4, 'REJECTED', $5, $6, $7, $8, now())
         ON CONFLICT (batch_id, content_hash) DO UPDATE
            SET status = 'REJECTED', error_code = EXCLUDED.error_code, reason = EXCLUDED.reason,
                report_uri = EXCLUDED.report_uri, run_id = EXCLUDED.run_id, decided_at = now()
          WHERE a.status <> 'REJECTED'`,
        [
          c.batchId,
          c.contentHash,
          c.dataset,
          c.source,
          rejection.errorCode,
          rejection.reason,
          rejection.reportUri,
          c.runId,
        ],
      );
      if (rowCount !== 1) return false;
      await enqueueEvent(client, batchRejected, event);
      return true;
    });
  }

  recordSubmission(
    c: BatchClaim,
    event: BatchReady,
    stands: (codes: readonly string[]) => boolean,
  ): Promise<EarlierDecision | undefined> {
    return withTransaction(this.pool, async (client) => {
      const inserted = await client.query(
        `INSERT INTO batch_attempts (batch_id, content_hash, dataset, source, status, run_id)
         VALUES ($1, $2, $3, $4, 'SUBMITTED', $5)
         ON CONFLICT (batch_id, content_hash) DO NOTHING`,
        [c.batchId, c.contentHash, c.dataset, c.source, c.runId],
      );
      let earlier: EarlierDecision | undefined;
      if (inserted.rowCount !== 1) {
        // This content was seen under this id before: the batch row's report lists every problem
        // when the rejection was of this content; a refused conflict is its attempt's code alone.
        const { rows } = await client.query<AttemptRow & { batch_report: StoredReport | null }>(
          `SELECT a.*, CASE WHEN b.content_hash = a.content_hash THEN b.report END AS batch_report
             FROM batch_attempts a LEFT JOIN batches b ON b.id = a.batch_id
            WHERE a.batch_id = $1 AND a.content_hash = $2
              FOR UPDATE OF a`,
          [c.batchId, c.contentHash],
        );
        const a = rows[0];
        if (a && (a.status === 'INGESTED' || a.status === 'REJECTED')) {
          earlier = {
            status: a.status,
            errorCode: a.error_code,
            reason: a.reason,
            reportUri: a.report_uri,
            decidedAt: a.decided_at?.toISOString() ?? null,
            stands: a.status === 'INGESTED' || stands(problemCodes(a.batch_report, a.error_code)),
          };
          if (!earlier.stands) {
            await client.query(
              `UPDATE batch_attempts
                  SET status = 'SUBMITTED', error_code = NULL, reason = NULL, report_uri = NULL,
                      run_id = $3, decided_at = NULL
                WHERE batch_id = $1 AND content_hash = $2`,
              [c.batchId, c.contentHash, c.runId],
            );
          }
        }
      }
      await enqueueEvent(client, batchReady, event);
      return earlier;
    });
  }

  async attemptOutcome(batchId: string, contentHash: string): Promise<AttemptOutcome | undefined> {
    const { rows } = await this.query<AttemptRow>(
      'SELECT * FROM batch_attempts WHERE batch_id = $1 AND content_hash = $2',
      [batchId, contentHash],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      status: row.status,
      errorCode: row.error_code,
      reason: row.reason,
      reportUri: row.report_uri,
      runId: row.run_id,
    };
  }

  async recordMergeOutcome(batchId: string, dataset: string, o: MergeOutcome): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE batches
          SET merge_status = $3, master_version = $4, merge_error_code = $5, merge_reason = $6,
              merge_report_uri = $7, merge_rows_rejected = $8, merge_unreferenced_files = $9,
              merge_decided_at = now()
        WHERE id = $1 AND dataset = $2 AND status = 'INGESTED' AND merge_status IS NULL`,
      o.status === 'MERGED'
        ? [
            batchId,
            dataset,
            o.status,
            o.masterVersion,
            null,
            null,
            o.reportUri,
            o.rowsRejected,
            o.unreferencedFiles,
          ]
        : [batchId, dataset, o.status, null, o.errorCode, o.reason, o.reportUri, null, null],
    );
    return rowCount === 1;
  }

  async mergeOutcome(batchId: string, contentHash: string): Promise<MergeOutcome | undefined> {
    const { rows } = await this.query<BatchRow>(
      `SELECT * FROM batches WHERE id = $1 AND content_hash = $2 AND merge_status IS NOT NULL`,
      [batchId, contentHash],
    );
    return rows[0] && mergeOutcomeOf(rows[0]);
  }

  async find(batchId: string): Promise<BatchView | undefined> {
    const [batch, attempts] = await Promise.all([
      this.query<BatchRow>('SELECT * FROM batches WHERE id = $1', [batchId]),
      this.query<AttemptRow>(
        'SELECT * FROM batch_attempts WHERE batch_id = $1 ORDER BY submitted_at, content_hash',
        [batchId],
      ),
    ]);
    const row = batch.rows[0];
    const latest = attempts.rows.at(-1);
    if (!row && !latest) return undefined;
    return {
      batch_id: batchId,
      dataset: row?.dataset ?? latest!.dataset,
      status: row?.status ?? latest!.status,
      producer: row?.producer ?? null,
      source: row?.source ?? latest?.source ?? null,
      contract: row ? { name: row.contract_name, version: row.contract_version } : null,
      content_hash: row?.content_hash ?? latest?.content_hash ?? null,
      error_code: row?.error_code ?? null,
      reason: row?.reason ?? null,
      raw_location: row?.raw_location ?? null,
      raw_dvc_file: row?.raw_dvc_file ?? null,
      raw_md5: row?.raw_md5 ?? null,
      report_uri: row?.report_uri ?? null,
      run_id: row?.run_id ?? latest?.run_id ?? null,
      created_at: row?.created_at.toISOString() ?? null,
      updated_at: row?.updated_at.toISOString() ?? null,
      ingested_at: row?.ingested_at?.toISOString() ?? null,
      files: row?.status === 'INGESTED' ? ((row.report as IngestedReport | null)?.files ?? null) : null,
      merge:
        row?.merge_status && row.merge_decided_at
          ? {
              status: row.merge_status,
              master_version: row.master_version === null ? null : Number(row.master_version),
              rows_rejected: row.merge_rows_rejected === null ? null : Number(row.merge_rows_rejected),
              error_code: row.merge_error_code,
              reason: row.merge_reason,
              report_uri: row.merge_report_uri,
              unreferenced_files: row.merge_unreferenced_files ?? [],
              decided_at: row.merge_decided_at.toISOString(),
            }
          : null,
      attempts: attempts.rows.map((a) => ({
        content_hash: a.content_hash,
        source: a.source,
        status: a.status,
        error_code: a.error_code,
        reason: a.reason,
        report_uri: a.report_uri,
        run_id: a.run_id,
        submitted_at: a.submitted_at.toISOString(),
        decided_at: a.decided_at?.toISOString() ?? null,
      })),
    };
  }

  /**
   * The latest batches, newest first, with each stage's status and duration (the console's live
   * list): ingest (submitted → ingested or rejected) and merge (ingested → merged or rejected).
   */
  async list(filter: { dataset?: string | undefined; limit: number }): Promise<BatchSummary[]> {
    const { rows } = await this.query<BatchRow>(
      `SELECT * FROM batches WHERE ($1::text IS NULL OR dataset = $1) ORDER BY created_at DESC, id LIMIT $2`,
      [filter.dataset ?? null, filter.limit],
    );
    return rows.map(summaryOf);
  }

  /**
   * Whether the ingestor holds any batch of `dataset` (whatever its status: raw files, reports):
   * the catalog then refuses to remove the dataset's declaration without force.
   */
  async hasBatches(dataset: string): Promise<boolean> {
    const { rows } = await this.query<{ found: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM batches WHERE dataset = $1) AS found',
      [dataset],
    );
    return rows[0]?.found === true;
  }

  private async query<R extends object>(sql: string, params: unknown[]): Promise<{ rows: R[] }> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      throw pgToAppError(err);
    }
  }
}

/** A batch row as the list shows it: the stages it went through, with their durations. */
function summaryOf(row: BatchRow): BatchSummary {
  const ms = (from: Date | null, to: Date | null) =>
    from === null || to === null ? null : Math.max(0, to.getTime() - from.getTime());
  const ingestEnded = row.ingested_at ?? (row.status === 'REJECTED' ? row.updated_at : null);
  const merge = row.merge_status;
  const status =
    row.status !== 'INGESTED'
      ? row.status
      : merge === null
        ? 'MERGING'
        : merge === 'REJECTED'
          ? 'REJECTED'
          : Number(row.merge_rows_rejected ?? 0) > 0
            ? 'QUARANTINED'
            : 'MERGED';
  return {
    batch_id: row.id,
    dataset: row.dataset,
    producer: row.producer,
    source: row.source,
    contract: { name: row.contract_name, version: row.contract_version },
    status,
    run_id: row.run_id,
    created_at: row.created_at.toISOString(),
    updated_at: (row.merge_decided_at ?? row.updated_at).toISOString(),
    master_version: row.master_version === null ? null : Number(row.master_version),
    rows_rejected: row.merge_rows_rejected === null ? null : Number(row.merge_rows_rejected),
    error_code: row.merge_error_code ?? row.error_code,
    reason: row.merge_reason ?? row.reason,
    report_uri: row.merge_report_uri ?? row.report_uri,
    stages: {
      ingest: {
        status: row.status === 'INGESTING' ? 'RUNNING' : row.status === 'INGESTED' ? 'DONE' : 'FAILED',
        duration_ms: ms(row.created_at, ingestEnded),
      },
      merge: {
        status:
          row.status !== 'INGESTED'
            ? 'PENDING'
            : merge === null
              ? 'RUNNING'
              : merge === 'MERGED'
                ? 'DONE'
                : 'FAILED',
        duration_ms: ms(row.ingested_at, row.merge_decided_at),
      },
    },
  };
}

/** The rejection report stored on the batch row (see Rejection.report). */
interface StoredReport {
  problems?: { code?: string }[];
}

/** What markIngested keeps in `report` of an ingested batch. */
interface IngestedReport {
  nfiles: number;
  size_bytes: number;
  files: IngestedFile[];
}

/** Every problem code of a stored rejection; its error code alone when the report lists none. */
function problemCodes(report: StoredReport | null, errorCode: string | null): string[] {
  const codes = (report?.problems ?? []).flatMap((p) => (typeof p.code === 'string' ? [p.code] : []));
  if (codes.length > 0) return codes;
  return errorCode === null ? [] : [errorCode];
}

async function upsertAttempt(
  client: PoolClient,
  c: BatchClaim,
  status: AttemptStatus,
  rejection?: Rejection,
): Promise<void> {
  const decided = status === 'INGESTED' || status === 'REJECTED';
  await client.query(
    `INSERT INTO batch_attempts (batch_id, content_hash, dataset, source, status, error_code, reason, report_uri, run_id, decided_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $10 THEN now() END)
     ON CONFLICT (batch_id, content_hash) DO UPDATE
        SET status = EXCLUDED.status, error_code = EXCLUDED.error_code, reason = EXCLUDED.reason,
            report_uri = EXCLUDED.report_uri, run_id = EXCLUDED.run_id, decided_at = EXCLUDED.decided_at`,
    [
      c.batchId,
      c.contentHash,
      c.dataset,
      c.source,
      status,
      rejection?.errorCode ?? null,
      rejection?.reason ?? null,
      rejection?.reportUri ?? null,
      c.runId,
      decided,
    ],
  );
}

function mergeOutcomeOf(row: BatchRow): MergeOutcome | undefined {
  if (row.merge_status === 'MERGED') {
    return {
      status: 'MERGED',
      masterVersion: Number(row.master_version),
      rowsRejected: row.merge_rows_rejected === null ? null : Number(row.merge_rows_rejected),
      reportUri: row.merge_report_uri,
      unreferencedFiles: row.merge_unreferenced_files ?? [],
    };
  }
  if (row.merge_status === 'REJECTED') {
    return {
      status: 'REJECTED',
      errorCode: row.merge_error_code ?? '',
      reason: row.merge_reason ?? '',
      reportUri: row.merge_report_uri,
    };
  }
  return undefined;
}
