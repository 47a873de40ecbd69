import { z } from 'zod';
import { landingFolder } from '@tributary/catalog';
import { isAppError } from '@tributary/errors';
import { ID_PATTERN, IngestErrorCode, parseContractRef } from './batch.ts';
import type {
  BatchRepository,
  DatasetCatalog,
  LandingClaim,
  LandingRef,
  LandingZone,
  SubmittedFile,
  UseCaseLog,
} from './ports.ts';
import { submitBatch } from './submit-batch.ts';

export interface LandingDeps {
  landing: LandingZone;
  batches: BatchRepository;
  /** Which dataset each landing folder feeds, and its current contract version. */
  catalog: DatasetCatalog;
  /** contractVersion: LANDING_DEFAULT_CONTRACT_VERSION, for folders of undeclared datasets only. */
  defaults: { contractVersion: string; producer: string };
  /** Delete the data files of a merged batch (its _DONE marker stays; raw/ holds the bytes). */
  deleteIngestedFiles: boolean;
  now?: () => Date;
}

/**
 * `batch.json`, optional, beside the files of a landing batch. Without it the contract is the
 * dataset's `contract.name@contract.current` and the producer LANDING_DEFAULT_PRODUCER.
 */
const manifestSchema = z
  .object({
    contract: z.union([z.string(), z.object({ name: z.string(), version: z.string() })]).optional(),
    producer: z.string().min(1).optional(),
    /** Schema version every table file declares, unless `files` says otherwise. */
    schema_version: z.string().optional(),
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    /** Per-file declarations, by path: role, schema version, and the producer's own sha256 to verify. */
    files: z
      .record(
        z.string(),
        z.object({
          role: z.enum(['TABLE', 'IMAGE']).optional(),
          schema_version: z.string().nullable().optional(),
          sha256: z.string().optional(),
        }),
      )
      .optional(),
  })
  .strict();

export type LandingResult = 'not-claimed' | 'submitted' | 'rejected';

/**
 * The seed's gate and lock, then the announcement: `_READY` → `_PROCESSING` (one watcher wins),
 * the files are hashed and the batch is submitted like an upload (batch.ready, source
 * LANDING_ZONE). The ingest itself runs in the batch.ready handler, on whichever replica.
 */
export async function takeLandingBatch(
  deps: LandingDeps,
  ref: LandingRef,
  run: { runId: string; log: UseCaseLog },
): Promise<LandingResult> {
  if (!(await deps.landing.claim(ref))) return 'not-claimed';
  try {
    return await announceLandingBatch(deps, ref, run);
  } catch (err) {
    // Database or disk trouble: hand the batch back rather than leave it waiting for the stale-claim timeout.
    await deps.landing.release(ref).catch(() => undefined);
    throw err;
  }
}

/** Describes and submits a claimed batch folder; also used to take over a claim whose watcher died. */
export async function announceLandingBatch(
  deps: LandingDeps,
  ref: LandingRef,
  run: { runId: string; log: UseCaseLog },
): Promise<LandingResult> {
  const refuse = async (errorCode: string, reason: string, dataset?: string): Promise<LandingResult> => {
    await deps.landing.finish(ref, 'REJECTED', {
      status: 'REJECTED',
      dataset: dataset ?? ref.folder,
      landing_folder: ref.folder,
      batch_id: ref.batchId,
      error_code: errorCode,
      reason,
      run_id: run.runId,
      decided_at: (deps.now?.() ?? new Date()).toISOString(),
    });
    run.log.warn(
      { landing_folder: ref.folder, batch_id: ref.batchId, error_code: errorCode, reason },
      'landing batch refused',
    );
    return 'rejected';
  };

  const target = await landingTarget(deps, ref.folder);
  if ('refusal' in target) return refuse(IngestErrorCode.LANDING_FOLDER, target.refusal);
  const { dataset } = target;

  let manifest: z.output<typeof manifestSchema>;
  try {
    const parsed = manifestSchema.safeParse((await deps.landing.readManifest(ref)) ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(manifest)'}: ${i.message}`);
      return await refuse('ING_ERR_BAD_MANIFEST', `batch.json: ${problems.join('; ')}`, dataset);
    }
    manifest = parsed.data;
  } catch (err) {
    if (isAppError(err) && !err.retriable) return refuse(err.code, err.message, dataset);
    throw err;
  }
  const contract =
    manifest.contract === undefined
      ? target.contract
      : typeof manifest.contract === 'string'
        ? parseContractRef(manifest.contract)
        : manifest.contract;
  if (!contract)
    return refuse(
      'ING_ERR_BAD_MANIFEST',
      'batch.json: "contract" must read <name>@<major.minor.patch>',
      dataset,
    );
  if (!ID_PATTERN.test(dataset) || !ID_PATTERN.test(ref.batchId)) {
    return refuse(
      IngestErrorCode.INVALID_BATCH,
      `folder names must be valid ids (${ID_PATTERN.source})`,
      dataset,
    );
  }

  const described = await deps.landing.describeFiles(ref);
  const files: SubmittedFile[] = described.map((f) => {
    const declared = manifest.files?.[f.path];
    return {
      ...f,
      sha256: declared?.sha256 ?? f.sha256,
      ...(declared?.role === undefined ? {} : { role: declared.role }),
      schemaVersion:
        declared?.schema_version !== undefined ? declared.schema_version : (manifest.schema_version ?? null),
    };
  });
  // Declared but absent files are the producer's mistake the ingest reports: FILE_MISSING.
  for (const [path, declared] of Object.entries(manifest.files ?? {})) {
    if (!described.some((f) => f.path === path) && declared.sha256 !== undefined) {
      files.push({
        path,
        uri: deps.landing.uriOf(ref, path),
        sha256: declared.sha256,
        size: 0,
        schemaVersion: declared.schema_version ?? null,
      });
    }
  }
  try {
    const submitted = await submitBatch(
      deps,
      {
        dataset,
        batchId: ref.batchId,
        producer: manifest.producer ?? deps.defaults.producer,
        source: 'LANDING_ZONE',
        contract,
        files,
        attributes: Object.fromEntries(
          Object.entries(manifest.attributes ?? {}).map(([k, v]) => [k, String(v)]),
        ),
      },
      run.runId,
    );
    const claim: LandingClaim = {
      dataset,
      batch_id: ref.batchId,
      content_hash: submitted.contentHash,
      run_id: submitted.runId,
      event_id: submitted.eventId,
      submitted_at: (deps.now?.() ?? new Date()).toISOString(),
    };
    await deps.landing.recordClaim(ref, claim);
    run.log.info({ dataset, batch_id: ref.batchId, files: files.length }, 'landing batch submitted');
    return 'submitted';
  } catch (err) {
    if (isAppError(err) && err.code === IngestErrorCode.INVALID_BATCH)
      return refuse(err.code, err.message, dataset);
    throw err;
  }
}

/**
 * The dataset a landing folder feeds: the declared dataset whose landing folder it is (its name, or
 * `landing.folder`), with its current contract version for batches that name none. A folder no
 * declaration claims is taken as the dataset of that name, undeclared: the ingest rejects its
 * batches (ING_ERR_UNDECLARED_DATASET, with batch.rejected) unless ACCEPT_UNDECLARED_DATASETS, and
 * they default to LANDING_DEFAULT_CONTRACT_VERSION. A folder that two declarations claim, or that
 * is named after a declared dataset landing elsewhere, is refused at once.
 */
async function landingTarget(
  deps: LandingDeps,
  folder: string,
): Promise<{ dataset: string; contract: { name: string; version: string } } | { refusal: string }> {
  // The declarations as of now (re-read only if the catalog changed since they were loaded).
  await deps.catalog.reload();
  const declared = deps.catalog.datasets().filter((d) => landingFolder(d) === folder);
  if (declared.length > 1) {
    return {
      refusal: `landing folder ${folder} is claimed by datasets ${declared.map((d) => d.name).join(' and ')}: give each its own landing.folder`,
    };
  }
  const [dataset] = declared;
  if (dataset) {
    return {
      dataset: dataset.name,
      contract: { name: dataset.contract.name, version: dataset.contract.current },
    };
  }
  const named = await deps.catalog.dataset(folder);
  if (named) {
    return {
      refusal: `dataset ${folder} lands in folder ${landingFolder(named)}/ (landing.folder of its declaration), not in ${folder}/`,
    };
  }
  return { dataset: folder, contract: { name: folder, version: deps.defaults.contractVersion } };
}

/**
 * Once the batch is decided, tells the producer the seed's way: `_PROCESSING` is replaced by `_DONE`
 * or by `_REJECTED` holding the reason. As the seed releases its lock only after master versioning,
 * an ingested batch stays `_PROCESSING` until the preprocessor merged it (`_DONE` names the master
 * version) or rejected it. Returns false while the batch is still pending.
 */
export async function settleLandingBatch(
  deps: LandingDeps,
  ref: LandingRef,
  claim: LandingClaim,
  log: UseCaseLog,
): Promise<boolean> {
  const decision = await landingDecision(deps.batches, claim);
  if (!decision) return false;
  const body = {
    ...decision,
    dataset: claim.dataset,
    batch_id: claim.batch_id,
    content_hash: claim.content_hash,
    run_id: decision.run_id ?? claim.run_id,
    decided_at: (deps.now?.() ?? new Date()).toISOString(),
  };
  // The seed moves the files and cleans the incoming folder once the master is versioned; a rejected
  // batch keeps them, so the producer can fix them in place and drop _READY again.
  if (body.status === 'MERGED' && deps.deleteIngestedFiles) {
    await deps.landing.deleteFiles(ref, await deps.landing.listFiles(ref));
  }
  await deps.landing.finish(ref, body.status === 'MERGED' ? 'DONE' : 'REJECTED', body);
  log.info({ batch_id: claim.batch_id, status: body.status }, 'landing batch settled');
  return true;
}

/**
 * What the landing zone tells of a batch: refused by the ingest, or, once ingested, merged or
 * rejected by the preprocessor; undefined while that is not known yet.
 */
async function landingDecision(
  batches: LandingDeps['batches'],
  claim: LandingClaim,
): Promise<(Record<string, unknown> & { status: 'MERGED' | 'REJECTED'; run_id: string | null }) | undefined> {
  const outcome = await batches.attemptOutcome(claim.batch_id, claim.content_hash);
  if (outcome?.status === 'REJECTED') {
    const { errorCode, reason, reportUri, runId } = outcome;
    return {
      status: 'REJECTED',
      stage: 'INGEST',
      error_code: errorCode,
      reason,
      report_uri: reportUri,
      run_id: runId,
    };
  }
  if (outcome?.status !== 'INGESTED') return undefined;
  const merge = await batches.mergeOutcome(claim.batch_id, claim.content_hash);
  if (!merge) return undefined;
  if (merge.status === 'REJECTED') {
    const { errorCode, reason, reportUri } = merge;
    return {
      status: 'REJECTED',
      stage: 'PREPROCESS',
      error_code: errorCode,
      reason,
      report_uri: reportUri,
      run_id: outcome.runId,
    };
  }
  return {
    status: 'MERGED',
    master_version: merge.masterVersion,
    rows_rejected: merge.rowsRejected,
    report_uri: merge.reportUri,
    unreferenced_files: merge.unreferencedFiles,
    run_id: outcome.runId,
  };
}
