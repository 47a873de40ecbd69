import { batchContentHash } from '@tributary/events/content-hash';
import path from 'node:path';
import { isAppError } from '@tributary/errors';
import {
  eventTime,
  newEventId,
  type BatchIngested,
  type BatchReady,
  type BatchRejected,
} from '@tributary/events';
import {
  ID_PATTERN,
  IngestErrorCode,
  declarationProblems,
  rejectionStands,
  summarise,
  type Problem,
} from './batch.ts';
import type {
  BatchClaim,
  BatchRepository,
  DatasetCatalog,
  RawStore,
  Rejection,
  SourceFiles,
  StagedFile,
  UseCaseLog,
} from './ports.ts';

export interface IngestDeps {
  batches: BatchRepository;
  /** Declared datasets and published contracts. */
  catalog: DatasetCatalog;
  /** ACCEPT_UNDECLARED_DATASETS: ingest batches of undeclared datasets (with a warning) instead of rejecting them. */
  acceptUndeclared: boolean;
  sources: SourceFiles;
  raw: RawStore;
  /** Files of one batch read in parallel. */
  concurrency: number;
  now?: () => Date;
}

/** What an ingest decided; the handler only logs it (every outcome is a normal return). */
export type IngestOutcome =
  | { kind: 'ingested'; contentHash: string; rawMd5: string }
  | { kind: 'duplicate'; contentHash: string; status: 'INGESTED' | 'REJECTED' }
  | { kind: 'rejected'; contentHash: string; errorCode: string; reason: string }
  | { kind: 'superseded'; contentHash: string };

/**
 * Ingests one announced batch (seed tasks "ingest + DVC raw" and `ingest_sources`): claims its id,
 * checks the declaration, that the dataset is declared in the catalog and accepts the batch's
 * contract version, copies every file to scratch space while hashing it,
 * compares against the declared sha256/size, then writes raw/<dataset>/<batch_id>/ with its DVC
 * snapshot and commits "INGESTED + batch.ingested" atomically.
 *
 * Producer mistakes end in batch.rejected (never retried, never dead-lettered); infrastructure
 * failures throw retriable errors and the whole use case is re-run, which is safe: every write
 * before the final commit is idempotent, and the commit is guarded by the claim.
 */
export async function ingestBatch(
  deps: IngestDeps,
  ready: BatchReady,
  run: { runId: string; log: UseCaseLog },
): Promise<IngestOutcome> {
  const now = deps.now ?? (() => new Date());
  const contentHash = batchContentHash(ready.files);
  const claim: BatchClaim = {
    batchId: ready.batch_id,
    dataset: ready.dataset,
    producer: ready.producer,
    source: ready.source,
    contract: { name: ready.contract.name, version: ready.contract.version },
    contentHash,
    runId: run.runId,
  };
  const log = run.log;

  const claimed = await deps.batches.claim(claim, rejectionStands);
  if (claimed.kind === 'duplicate') {
    log.info({ batch_id: claim.batchId, status: claimed.status }, 'batch already decided; acknowledged');
    await deps.sources.releaseStaged(ready.files.map((f) => f.uri));
    return { kind: 'duplicate', contentHash, status: claimed.status };
  }
  if (claimed.kind === 'conflict') {
    const problems: Problem[] = [
      {
        code: IngestErrorCode.BATCH_CONFLICT,
        message:
          `batch ${claim.batchId} ${claimed.existingStatus === 'INGESTED' ? 'was already ingested' : 'is being ingested'} ` +
          `into ${claimed.existingDataset} with content ${claimed.existingContentHash}; ` +
          `this submission has content ${contentHash}: submit changed content under a new batch id`,
      },
    ];
    const rejection = await buildRejection(deps, claim, problems, now());
    const queued = await deps.batches.recordConflict(
      claim,
      rejection,
      rejectedEvent(claim, rejection, now()),
    );
    log.warn({ batch_id: claim.batchId, content_hash: contentHash, queued }, 'batch id conflict refused');
    await deps.sources.releaseStaged(ready.files.map((f) => f.uri));
    return { kind: 'rejected', contentHash, errorCode: rejection.errorCode, reason: rejection.reason };
  }
  if (claimed.takeover)
    log.warn({ batch_id: claim.batchId }, 'taking over an unfinished ingest of this batch id');
  if (claimed.reopened)
    log.info(
      { batch_id: claim.batchId, earlier_error_code: claimed.reopened.errorCode },
      'batch rejected earlier for a cause outside its content; processing it again',
    );

  const problems = declarationProblems({
    dataset: ready.dataset,
    batchId: ready.batch_id,
    files: ready.files,
  });
  problems.push(...(await contractProblems(deps, ready, log)));
  if (problems.length > 0) return reject(deps, ready, claim, problems, log, now);

  const workspace = await deps.sources.workspace();
  try {
    const staged = await stageAll(deps, ready, workspace.dir);
    const fileProblems = staged.flatMap((s) => s.problems);
    if (fileProblems.length > 0) return await reject(deps, ready, claim, fileProblems, log, now);

    const files = ready.files.map((f, i) => ({ declared: f, staged: staged[i]!.file! }));
    const snapshot = await deps.raw.snapshot(
      ready.dataset,
      ready.batch_id,
      files.map(({ declared, staged: s }) => ({
        path: declared.path,
        at: s.at,
        md5: s.md5,
        size: s.size,
      })),
    );
    const event: BatchIngested = {
      event_id: newEventId(),
      occurred_at: eventTime(now()),
      ready_at: ready.occurred_at,
      run_id: run.runId,
      dataset: ready.dataset,
      batch_id: ready.batch_id,
      producer: ready.producer,
      contract: claim.contract,
      content_hash: contentHash,
      raw_location: snapshot.rawLocation,
      raw_md5: snapshot.rawMd5,
      raw_dvc_file: snapshot.rawDvcFile,
      files: files.map(({ declared, staged: s }) => ({
        path: declared.path,
        role: declared.role,
        sha256: s.sha256,
        md5: s.md5,
        size_bytes: s.size,
        schema_version: declared.schema_version,
      })),
    };
    const committed = await deps.batches.markIngested(claim, snapshot, event);
    if (!committed) {
      log.warn({ batch_id: claim.batchId }, 'another attempt finished this batch first');
      await refuseSuperseded(deps, claim, now());
      return { kind: 'superseded', contentHash };
    }
    log.info({ batch_id: claim.batchId, raw_md5: snapshot.rawMd5, files: snapshot.nfiles }, 'batch ingested');
    await deps.sources.releaseStaged(ready.files.map((f) => f.uri));
    return { kind: 'ingested', contentHash, rawMd5: snapshot.rawMd5 };
  } finally {
    await workspace.dispose();
  }
}

/**
 * This ingest stalled past INGEST_TAKEOVER_AFTER_MS and a submission of other content took its
 * batch id. Unless an attempt of this same content finished it, its producer is told, as for any
 * conflict, so its attempt (and a landing-zone `_PROCESSING`) does not wait for good.
 */
async function refuseSuperseded(deps: IngestDeps, claim: BatchClaim, at: Date): Promise<void> {
  const outcome = await deps.batches.attemptOutcome(claim.batchId, claim.contentHash);
  if (outcome?.status !== 'INGESTING') return;
  const problems: Problem[] = [
    {
      code: IngestErrorCode.BATCH_CONFLICT,
      message:
        `batch ${claim.batchId} was taken over by a submission of other content while this ingest ` +
        `(content ${claim.contentHash}) was stalled: submit it again under a new batch id`,
    },
  ];
  const rejection = await buildRejection(deps, claim, problems, at);
  await deps.batches.recordConflict(claim, rejection, rejectedEvent(claim, rejection, at));
}

/**
 * The dataset must be declared (unless ACCEPT_UNDECLARED_DATASETS) and accept the contract the batch
 * names (`contract.name` and one of `contract.versions` of its declaration); the contract must be
 * published, and every declared schema version must be its version.
 */
async function contractProblems(deps: IngestDeps, ready: BatchReady, log: UseCaseLog): Promise<Problem[]> {
  const { name, version } = ready.contract;
  // The declarations as of now (one revision read; they are re-read only if the catalog changed), so
  // a batch sent right after `tributary datasets apply` sees what was applied.
  await deps.catalog.reload();
  const declared = await deps.catalog.dataset(ready.dataset);
  if (!declared && !deps.acceptUndeclared) {
    return [
      {
        code: IngestErrorCode.UNDECLARED_DATASET,
        message: `dataset ${ready.dataset} is not declared; apply datasets/${ready.dataset}.yaml (tributary datasets apply)`,
      },
    ];
  }
  if (!declared) {
    log.warn(
      { dataset: ready.dataset, batch_id: ready.batch_id },
      `dataset ${ready.dataset} is not declared; taken in because ACCEPT_UNDECLARED_DATASETS is true (declare it: apply datasets/${ready.dataset}.yaml)`,
    );
  } else if (declared.contract.name !== name || !declared.contract.versions.includes(version)) {
    const accepted = declared.contract.versions.map((v) => `${declared.contract.name}@${v}`).join(', ');
    return [
      {
        code: IngestErrorCode.CONTRACT_NOT_ACCEPTED,
        message: `dataset ${ready.dataset} does not accept contract ${name}@${version}: its declaration accepts ${accepted}`,
      },
    ];
  }
  try {
    await deps.catalog.contract(name, version);
  } catch (err) {
    if (isAppError(err) && err.code === 'CONTRACT_ERR_UNKNOWN') {
      return [
        {
          code: IngestErrorCode.UNKNOWN_CONTRACT,
          message: `unknown data contract ${name}@${version}: it is not published in the catalog`,
        },
      ];
    }
    throw err;
  }
  return ready.files
    .filter((f) => f.schema_version !== null && f.schema_version !== version)
    .map((f) => ({
      code: IngestErrorCode.SCHEMA_VERSION_MISMATCH,
      path: f.path,
      message: `${f.path}: declares schema version ${f.schema_version} but contract ${name} is at ${version}`,
    }));
}

interface StageResult {
  file?: StagedFile;
  problems: Problem[];
}

async function stageAll(deps: IngestDeps, ready: BatchReady, dir: string): Promise<StageResult[]> {
  const results = new Array<StageResult>(ready.files.length);
  let next = 0;
  const worker = async () => {
    while (next < ready.files.length) {
      const index = next++;
      const declared = ready.files[index]!;
      // Scratch names are indexes: declared paths were checked, but need not be valid local names.
      results[index] = await stageOne(deps, declared, path.join(dir, String(index)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.concurrency, ready.files.length) }, worker));
  return results;
}

async function stageOne(
  deps: IngestDeps,
  declared: BatchReady['files'][number],
  target: string,
): Promise<StageResult> {
  let file: StagedFile;
  try {
    file = await deps.sources.stage(declared.uri, target);
  } catch (err) {
    if (isAppError(err) && !err.retriable && err.code.startsWith('ING_ERR_')) {
      return {
        problems: [
          {
            code: err.code as Problem['code'],
            path: declared.path,
            message: `${declared.path}: ${err.message}`,
          },
        ],
      };
    }
    throw err;
  }
  const problems: Problem[] = [];
  if (file.sha256 !== declared.sha256.toLowerCase()) {
    problems.push({
      code: IngestErrorCode.CHECKSUM_MISMATCH,
      path: declared.path,
      message: `${declared.path}: declared sha256 ${declared.sha256} but the file hashes to ${file.sha256}`,
    });
  }
  if (declared.size_bytes !== null && declared.size_bytes !== file.size) {
    problems.push({
      code: IngestErrorCode.SIZE_MISMATCH,
      path: declared.path,
      message: `${declared.path}: declared ${declared.size_bytes} bytes but the file has ${file.size}`,
    });
  }
  return { file, problems };
}

async function reject(
  deps: IngestDeps,
  ready: BatchReady,
  claim: BatchClaim,
  problems: Problem[],
  log: UseCaseLog,
  now: () => Date,
): Promise<IngestOutcome> {
  const rejection = await buildRejection(deps, claim, problems, now());
  // Whatever an unfinished earlier attempt of this id left in raw goes: a rejected batch has no raw.
  if (ID_PATTERN.test(claim.dataset) && ID_PATTERN.test(claim.batchId))
    await deps.raw.clear(claim.dataset, claim.batchId);
  const committed = await deps.batches.markRejected(claim, rejection, rejectedEvent(claim, rejection, now()));
  log.warn(
    { batch_id: claim.batchId, error_code: rejection.errorCode, reason: rejection.reason, committed },
    'batch rejected',
  );
  if (committed) await deps.sources.releaseStaged(ready.files.map((f) => f.uri));
  return {
    kind: 'rejected',
    contentHash: claim.contentHash,
    errorCode: rejection.errorCode,
    reason: rejection.reason,
  };
}

async function buildRejection(
  deps: IngestDeps,
  claim: BatchClaim,
  problems: Problem[],
  at: Date,
): Promise<Rejection> {
  const errorCode = problems[0]!.code;
  const reason = summarise(problems);
  const report = {
    batch_id: claim.batchId,
    dataset: claim.dataset,
    producer: claim.producer,
    source: claim.source,
    contract: claim.contract,
    content_hash: claim.contentHash,
    stage: 'INGEST',
    error_code: errorCode,
    reason,
    problems,
    run_id: claim.runId,
    decided_at: at.toISOString(),
  };
  // A report needs a key made of the ids; ids that are not key-safe are themselves the problem.
  const reportUri =
    ID_PATTERN.test(claim.dataset) && ID_PATTERN.test(claim.batchId)
      ? await deps.raw.writeReport(claim.dataset, claim.batchId, claim.contentHash, report)
      : null;
  return { errorCode, reason, problems, reportUri, report };
}

function rejectedEvent(claim: BatchClaim, rejection: Rejection, at: Date): BatchRejected {
  return {
    event_id: newEventId(),
    occurred_at: eventTime(at),
    run_id: claim.runId,
    dataset: claim.dataset,
    batch_id: claim.batchId,
    producer: claim.producer,
    stage: 'INGEST',
    error_code: rejection.errorCode,
    reason: rejection.reason,
    report_uri: rejection.reportUri,
    rejected_rows: 0,
    partial: false,
  };
}
