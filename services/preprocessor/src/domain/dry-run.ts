import { compileContract, type DataContract } from '@tributary/contracts';
import { AppError, isAppError } from '@tributary/errors';
import type { BatchIngested } from '@tributary/events';
import type { DataStore, TablesEngine } from './ports.ts';
import { validateBatch, type RejectedRow, type ValidateDeps } from './validate-batch.ts';

/** A file of a dry-run upload: its path in the batch, role, and where its bytes are on this host. */
export interface DryRunFile {
  path: string;
  role: 'TABLE' | 'IMAGE';
  sha256: string;
  size: number;
  localPath: string;
}

export interface DryRunInput {
  dataset: string;
  /** The contract the batch names; absent: the dataset declaration's current version. */
  contract?: { name: string; version: string };
  files: readonly DryRunFile[];
}

/** What the dataset catalog gives a dry run: the declaration and the published contracts. */
export interface DryRunCatalog {
  dataset(
    name: string,
  ): Promise<{ contract: { name: string; current: string; versions: readonly string[] } } | undefined>;
  contract(name: string, version: string): Promise<DataContract>;
}

export interface DryRunDeps extends Omit<ValidateDeps, 'store'> {
  tables: TablesEngine;
  catalog: DryRunCatalog;
  /** The upload as the validation reads a raw batch (keys `upload/<path>`), read-only. */
  uploadStore: (files: ReadonlyMap<string, DryRunFile>) => DataStore;
}

/** The answer of a dry run: what submitting the batch would give, without submitting it. */
export interface DryRunReport {
  dry_run: true;
  dataset: string;
  contract: string | null;
  /** MERGE: every row would merge; MERGE_PARTIAL: the good rows would, the bad ones quarantined; REJECT: nothing would. */
  outcome: 'MERGE' | 'MERGE_PARTIAL' | 'REJECT';
  /** The stage that would decide a rejection: INGEST (the ingestor's checks) or VALIDATE (the preprocessor's). */
  stage: 'INGEST' | 'VALIDATE' | null;
  error_code: string | null;
  reason: string | null;
  total_rows: number;
  rejected_rows: number;
  /** Every bad row with every reason, in file and row order: the rejection report the batch would get. */
  rejections: RejectedRow[];
  /** Files no row links to (a README, an image no row names): the pipeline would report them, not merge them. */
  unreferenced_files: string[];
  warnings: string[];
}

/**
 * Checks a batch as the pipeline would (the ingestor's dataset and contract checks, then the
 * preprocessor's validation: types, rules, duplicates, images), from local files, storing nothing:
 * no raw batch, no report, no part, no image, no event, no batch id taken.
 */
export async function dryRunBatch(
  deps: DryRunDeps,
  input: DryRunInput,
  workDir: string,
): Promise<DryRunReport> {
  const warnings: string[] = [];
  const report = (r: Partial<DryRunReport> & Pick<DryRunReport, 'outcome'>): DryRunReport => ({
    dry_run: true,
    dataset: input.dataset,
    contract: null,
    stage: null,
    error_code: null,
    reason: null,
    total_rows: 0,
    rejected_rows: 0,
    rejections: [],
    unreferenced_files: [],
    warnings,
    ...r,
  });

  const declared = await deps.catalog.dataset(input.dataset);
  const contractRef =
    input.contract ??
    (declared ? { name: declared.contract.name, version: declared.contract.current } : undefined);
  if (!contractRef) {
    throw new AppError(
      'PRE_ERR_BAD_REQUEST',
      `give the contract: dataset ${input.dataset} is not declared, so it has no current contract version`,
    );
  }
  const contractId = `${contractRef.name}@${contractRef.version}`;
  if (!declared) {
    warnings.push(
      `dataset ${input.dataset} is not declared: the ingestor rejects its batches (ING_ERR_UNDECLARED_DATASET) unless it runs with ACCEPT_UNDECLARED_DATASETS`,
    );
  } else if (
    declared.contract.name !== contractRef.name ||
    !declared.contract.versions.includes(contractRef.version)
  ) {
    const accepted = declared.contract.versions.map((v) => `${declared.contract.name}@${v}`).join(', ');
    return report({
      contract: contractId,
      outcome: 'REJECT',
      stage: 'INGEST',
      error_code: 'ING_ERR_CONTRACT_NOT_ACCEPTED',
      reason: `dataset ${input.dataset} does not accept contract ${contractId}: its declaration accepts ${accepted}`,
    });
  }

  let contract: DataContract;
  try {
    contract = await deps.catalog.contract(contractRef.name, contractRef.version);
  } catch (err) {
    if (isAppError(err) && !err.retriable) {
      return report({
        contract: contractId,
        outcome: 'REJECT',
        stage: 'INGEST',
        error_code: err.code,
        reason: err.message,
      });
    }
    throw err;
  }

  const byKey = new Map(input.files.map((f) => [`upload/${f.path}`, f]));
  const store: DataStore = deps.uploadStore(byKey);
  const event: BatchIngested = {
    event_id: 'dry-run',
    occurred_at: 0,
    ready_at: null,
    run_id: 'dry-run',
    dataset: input.dataset,
    batch_id: 'dry-run',
    producer: 'dry-run',
    contract: contractRef,
    content_hash: '',
    raw_location: 'upload',
    raw_md5: '',
    raw_dvc_file: '',
    files: input.files.map((f) => ({
      path: f.path,
      role: f.role,
      sha256: f.sha256,
      md5: '',
      size_bytes: f.size,
      schema_version: null,
    })),
  };

  const session = await deps.tables.session();
  try {
    const validated = await validateBatch(
      { ...deps, store },
      session,
      event,
      compileContract(contract),
      workDir,
      false,
    );
    const fate = validated.fate;
    if (validated.unreferenced.length > 0) warnings.push(unreferencedWarning(validated.unreferenced));
    return report({
      contract: contractId,
      outcome: fate.kind === 'reject' ? 'REJECT' : fate.partial ? 'MERGE_PARTIAL' : 'MERGE',
      stage: fate.kind === 'reject' ? 'VALIDATE' : null,
      error_code: fate.kind === 'reject' ? fate.code : fate.partial ? 'PRE_ERR_ROWS_QUARANTINED' : null,
      reason: fate.kind === 'reject' ? fate.reason : null,
      total_rows: validated.totalRows,
      rejected_rows: validated.rejected.length,
      rejections: validated.rejected,
      unreferenced_files: validated.unreferenced,
    });
  } catch (err) {
    // What the pipeline rejects the whole batch for (no table, unreadable table...).
    if (isAppError(err) && !err.retriable) {
      return report({
        contract: contractId,
        outcome: 'REJECT',
        stage: 'VALIDATE',
        error_code: err.code,
        reason: err.message,
      });
    }
    throw err;
  } finally {
    session.close();
  }
}

/** What a producer is told of the files no row links to. */
export function unreferencedWarning(files: readonly string[]): string {
  return `no row links to ${files.join(', ')}: not part of the master (name a table with --table, or link the file from a row's image column)`;
}
