import type { BatchRejected, MasterVersioned } from '@tributary/events';
import type { BatchRepository, UseCaseLog } from './ports.ts';

/**
 * master.versioned: each batch it merged is settled as MERGED into that version. The version's
 * quarantine figures are the batch's own only when the version merged this batch alone.
 */
export async function recordMerged(
  batches: Pick<BatchRepository, 'recordMergeOutcome'>,
  master: MasterVersioned,
  log: UseCaseLog,
): Promise<void> {
  const alone = master.batch_ids.length === 1;
  for (const batchId of master.batch_ids) {
    const recorded = await batches.recordMergeOutcome(batchId, master.dataset, {
      status: 'MERGED',
      masterVersion: master.master_version,
      rowsRejected: alone ? master.rows_rejected : null,
      reportUri: alone ? master.rejection_report_uri : null,
      unreferencedFiles: alone ? master.unreferenced_files : [],
    });
    if (recorded) log.info({ batch_id: batchId, master_version: master.master_version }, 'batch merged');
  }
}

/**
 * batch.rejected by the preprocessor for a whole batch (stage VALIDATE or MERGE, not partial): the
 * batch is settled as REJECTED with the reason and report. Our own ingest rejections (stage INGEST)
 * were settled when they were made, and a partial rejection is followed by the master.versioned
 * that merged the rest.
 */
export async function recordRejected(
  batches: Pick<BatchRepository, 'recordMergeOutcome'>,
  rejected: BatchRejected,
  log: UseCaseLog,
): Promise<void> {
  if (rejected.stage === 'INGEST' || rejected.partial) return;
  const recorded = await batches.recordMergeOutcome(rejected.batch_id, rejected.dataset, {
    status: 'REJECTED',
    errorCode: rejected.error_code,
    reason: rejected.reason,
    reportUri: rejected.report_uri,
  });
  if (recorded) {
    log.info(
      { batch_id: rejected.batch_id, error_code: rejected.error_code },
      'batch rejected by the preprocessor',
    );
  }
}
