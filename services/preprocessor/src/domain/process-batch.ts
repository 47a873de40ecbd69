import { compileContract, type DataContract, type RowValidator } from '@tributary/contracts';
import { isAppError } from '@tributary/errors';
import type { BatchIngested, BatchRejected } from '@tributary/events';
import { setLogFields, withLogFields, withSpan } from '@tributary/telemetry';
import { mergeBatch, type MergeDeps } from './merge-batch.ts';
import type { ScratchSpace, TablesEngine } from './ports.ts';
import { renderReport, validateBatch, type ValidateDeps } from './validate-batch.ts';

/** The master lock as the use case needs it (MasterLock.withLock). */
export interface MergeLock {
  withLock<T>(name: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

export interface ProcessBatchDeps extends ValidateDeps, MergeDeps {
  tables: TablesEngine;
  lock: MergeLock;
  loadContract: (name: string, version: string) => Promise<DataContract>;
  scratch: ScratchSpace;
}

export type ProcessOutcome =
  /** unreferenced_files: files of the batch no row links to, reported, not merged. */
  | { kind: 'merged'; version: number; unreferenced_files: string[] }
  | { kind: 'rejected'; code: string }
  | { kind: 'duplicate' }
  | { kind: 'conflict' };

export interface ProcessContext {
  runId: string;
  signal: AbortSignal;
}

/**
 * The preprocessor's one flow, for one `batch.ingested`:
 * 1. a batch id already processed with the same content is acknowledged; with other content it is
 *    refused as a conflict (invariant 2);
 * 2. outside the lock: every row checked against the contract, every image canonicalised, the
 *    rejection report stored, the batch's part built;
 * 3. the contract's policy decides: reject (batch.rejected) or merge the good rows;
 * 4. under the master lock: merge and one fenced commit of version, counts and events.
 */
export class ProcessBatch {
  private readonly validators = new Map<string, RowValidator>();
  private readonly deps: ProcessBatchDeps;

  constructor(deps: ProcessBatchDeps) {
    this.deps = deps;
  }

  async execute(event: BatchIngested, ctx: ProcessContext): Promise<ProcessOutcome> {
    const done = await this.deps.repo.batchRecord(event.batch_id);
    if (done) {
      if (done.contentHash === event.content_hash) return { kind: 'duplicate' };
      await this.conflict(event, ctx, done.contentHash);
      return { kind: 'conflict' };
    }

    const workDir = await this.deps.scratch.create();
    const session = await this.deps.tables.session();
    try {
      let validator: RowValidator;
      let validated;
      try {
        validator = await this.validator(event.contract.name, event.contract.version);
        // One span per seed task (contract validation + images, then the merge) for the trace view.
        const v = validator;
        validated = await withSpan('preprocess.validate', this.spanAttributes(event), async (span) => {
          const result = await validateBatch(this.deps, session, event, v, workDir);
          span.setAttribute('tributary.rows_rejected', result.rejected.length);
          return result;
        });
      } catch (err) {
        if (isAppError(err) && !err.retriable) return this.reject(event, ctx, err.code, err.message, 0, null);
        throw err;
      }
      const reportKey = `reports/${event.dataset}/${event.batch_id}/rejections.jsonl`;
      const reportUri =
        validated.rejected.length > 0
          ? await this.deps.store.put(reportKey, renderReport(validated.rejected, ctx.runId))
          : null;
      const fate = validated.fate;
      if (fate.kind === 'reject') {
        return this.reject(event, ctx, fate.code, fate.reason, validated.rejected.length, reportUri);
      }

      const result = await withLogFields({ task_id: 'merge' }, () =>
        withSpan('preprocess.merge', this.spanAttributes(event), () =>
          this.deps.lock.withLock(event.dataset, async (signal) => {
            const merged = await mergeBatch(this.deps, session, {
              event,
              contract: validator.contract,
              runId: ctx.runId,
              part: validated.part!,
              images: validated.images,
              rowsRejected: validated.rejected.length,
              unreferencedFiles: validated.unreferenced,
              reportUri,
              workDir,
              mergeStartedAt: this.deps.now(),
              signal: anySignal(signal, ctx.signal),
            });
            return merged;
          }),
        ),
      );
      if (result.kind === 'already-merged') {
        if (result.contentHash === event.content_hash) return { kind: 'duplicate' };
        await this.conflict(event, ctx, result.contentHash);
        return { kind: 'conflict' };
      }
      if (result.kind === 'schema-changed') {
        return this.reject(event, ctx, 'PRE_ERR_CONTRACT_CHANGED', result.reason, 0, null, 'MERGE');
      }
      // The rest of the run's lines (here and in the handler) name the version the merge committed.
      setLogFields({ task_id: 'merge', dataset_version: `${event.dataset}@${result.version}` });
      return { kind: 'merged', version: result.version, unreferenced_files: validated.unreferenced };
    } finally {
      session.close();
      await this.deps.scratch.remove(workDir);
    }
  }

  private spanAttributes(event: BatchIngested): Record<string, string> {
    return {
      'tributary.dataset': event.dataset,
      'tributary.batch_id': event.batch_id,
      'tributary.contract': `${event.contract.name}@${event.contract.version}`,
    };
  }

  private async validator(name: string, version: string): Promise<RowValidator> {
    const id = `${name}@${version}`;
    let v = this.validators.get(id);
    if (!v) {
      v = compileContract(await this.deps.loadContract(name, version));
      this.validators.set(id, v);
    }
    return v;
  }

  private async reject(
    event: BatchIngested,
    ctx: ProcessContext,
    code: string,
    reason: string,
    rejectedRows: number,
    reportUri: string | null,
    stage: BatchRejected['stage'] = 'VALIDATE',
  ): Promise<ProcessOutcome> {
    await this.deps.repo.commitRejection(
      {
        dataset: event.dataset,
        batchId: event.batch_id,
        contentHash: event.content_hash,
        rowsRejected: rejectedRows,
        reportUri,
      },
      this.rejection(event, ctx, { stage, code, reason, reportUri, rejectedRows }),
    );
    return { kind: 'rejected', code };
  }

  private async conflict(event: BatchIngested, ctx: ProcessContext, knownHash: string): Promise<void> {
    const reason = `batch ${event.batch_id} was already processed with content ${knownHash}; this delivery has content ${event.content_hash}`;
    const reportUri = await this.deps.store.put(
      `reports/${event.dataset}/${event.batch_id}/conflict-${event.event_id}.json`,
      `${JSON.stringify({ batch_id: event.batch_id, event_id: event.event_id, known_content_hash: knownHash, content_hash: event.content_hash, reason, run_id: ctx.runId })}\n`,
    );
    await this.deps.repo.commitConflict(
      event.event_id,
      this.rejection(event, ctx, {
        stage: 'MERGE',
        code: 'PRE_ERR_BATCH_CONFLICT',
        reason,
        reportUri,
        rejectedRows: 0,
      }),
    );
  }

  private rejection(
    event: BatchIngested,
    ctx: ProcessContext,
    r: {
      stage: BatchRejected['stage'];
      code: string;
      reason: string;
      reportUri: string | null;
      rejectedRows: number;
    },
  ): BatchRejected {
    return {
      event_id: this.deps.newEventId(),
      occurred_at: this.deps.now().getTime(),
      run_id: ctx.runId,
      dataset: event.dataset,
      batch_id: event.batch_id,
      producer: event.producer,
      stage: r.stage,
      error_code: r.code,
      reason: r.reason.slice(0, 2000),
      report_uri: r.reportUri,
      rejected_rows: r.rejectedRows,
      partial: false,
    };
  }
}

function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  return AbortSignal.any([a, b]);
}
