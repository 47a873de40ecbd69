import { stringify } from 'yaml';
import { eventTime, newEventId, type DatasetPublished, type QualityEvaluated } from '@tributary/events';
import { withLogFields, withTask, type Logger } from '@tributary/telemetry';
import type {
  ArchiveRecord,
  ArtifactReader,
  CandidateFiles,
  CatalogEntry,
  EvaluationSetDeclaration,
  FaultPoint,
  PublishRepository,
  PublishStore,
} from './ports.ts';
import { AppError } from '@tributary/errors';

export interface PublishDeps {
  store: PublishStore;
  reader: ArtifactReader;
  candidates: CandidateFiles;
  repo: PublishRepository;
  fault: FaultPoint;
  /** Attempts of a version the fault applies to (the later ones succeed). */
  faultAttempts: number;
  /**
   * The dataset declaring evaluation set `name` (the catalog's refresh job of that name), or
   * undefined when no declaration has it.
   */
  declaration(evaluationSet: string): Promise<EvaluationSetDeclaration | undefined>;
  /** Days archives are kept when the evaluation set is not declared (ARCHIVE_RETENTION_DAYS). */
  retentionDays: number;
  logger: Logger;
  /** The clock (tests pin it); the system's by default. */
  now?: () => Date;
}

export interface PublishResult {
  /** `retrying`: the publish failed, was rolled back and waits for its retry (not archived yet). */
  outcome: ArchiveRecord['outcome'] | 'retrying';
  reason: string | null;
  /** False when the version had been handled before (redelivery). */
  published: boolean;
  seconds: number;
}

/** Key of the manifest naming the current version of a dataset. */
export const manifestKey = (dataset: string) => `datasets/${dataset}/dataset_manifest.yaml`;
const versionPrefix = (dataset: string, version: string) => `datasets/${dataset}/${version}/`;
export const archivePrefix = (dataset: string, version: string) => `archive/${dataset}/${version}/`;

/**
 * The seed's `publish_dataset` (only when the gate passed) then `archive_artifacts` (always).
 * Publishing uploads the candidate and report, writes `dataset_manifest.yaml`, then records the
 * catalog row with dataset.published in one transaction; a failure on the way deletes what was
 * uploaded and puts the previous manifest back. Both steps are idempotent per dataset_version.
 */
export async function publishDataset(
  evaluated: QualityEvaluated,
  ctx: {
    runId: string;
    attempt?: number;
    /**
     * The delay the retry policy gives a retry of this attempt (the publish-retry job's); undefined
     * when it is the last attempt, whose failure is final.
     */
    retryInMs?: number | undefined;
  },
  deps: PublishDeps,
): Promise<PublishResult> {
  const attempt = ctx.attempt ?? 1;
  const started = performance.now();
  const taskAttributes = {
    dataset: evaluated.dataset,
    dataset_version: evaluated.dataset_version,
    master_version: evaluated.master_version ?? undefined,
    attempt,
  };
  return withLogFields({ dataset_version: evaluated.dataset_version }, async () => {
    const declared = await deps.declaration(evaluated.dataset);
    if (!declared) {
      deps.logger.info(
        { evaluation_set: evaluated.dataset, retention_days: deps.retentionDays },
        'evaluation set not declared in the catalog: archived for the deployment default retention',
      );
    }
    // The diff is against the version published before this one was evaluated (not a newer one).
    const previous = await deps.repo.latest(evaluated.dataset, new Date(evaluated.occurred_at));
    let outcome: ArchiveRecord['outcome'] = evaluated.status === 'TASK_FAILED' ? 'run_failed' : 'gate_failed';
    let reason: string | null = evaluated.passed ? null : (evaluated.failure_reason ?? 'quality gate failed');
    let published = false;
    if (evaluated.passed) {
      const done = await deps.repo.findCatalog(evaluated.dataset_version);
      if (done) outcome = 'published';
      else {
        const fault = attempt <= deps.faultAttempts ? deps.fault : 'none';
        reason = await withTask('publish_dataset', taskAttributes, async (span) => {
          const failed = await publish(evaluated, ctx.runId, declared, { ...deps, fault });
          span.setAttribute('tributary.published', failed === null);
          return failed;
        });
        const delay = ctx.retryInMs;
        if (reason !== null && delay !== undefined) {
          // The caller parks the version for its next attempt (a publish-retry job).
          deps.logger.warn(
            { task_id: 'publish_dataset', reason, attempt, retry_in_ms: delay },
            'publish will be retried',
          );
          return {
            outcome: 'retrying',
            reason,
            published: false,
            seconds: (performance.now() - started) / 1000,
          };
        }
        if (reason !== null) reason = `publish_dataset failed after ${attempt} attempts: ${reason}`;
        outcome = reason === null ? 'published' : 'publish_failed';
        published = reason === null;
      }
    }
    await withTask('archive_artifacts', { ...taskAttributes, outcome }, () =>
      archive(evaluated, outcome, reason, previous, declared, deps),
    );
    return { outcome, reason, published, seconds: (performance.now() - started) / 1000 };
  });
}

/**
 * Whether a version evaluated at `evaluatedAt` comes after `current` in the catalog's order (see
 * PublishRepository.latest): evaluation time, then the version id. Evaluation (quality.evaluated
 * occurred_at) is when the candidate was generated from the sources: it does not move when the
 * publish is retried, and a quality-gate retry of a run that started earlier reads newer sources.
 */
export function isAfter(evaluatedAt: Date, version: string, current: CatalogEntry): boolean {
  const at = evaluatedAt.getTime();
  const currentAt = Date.parse(current.evaluatedAt);
  return at > currentAt || (at === currentAt && version > current.datasetVersion);
}

/**
 * Publishes a version; answers null, or the reason it failed after rolling back. Its own files and
 * catalog row are always written; the current manifest moves only when no later version is current.
 */
async function publish(
  evaluated: QualityEvaluated,
  runId: string,
  declared: EvaluationSetDeclaration | undefined,
  deps: PublishDeps,
): Promise<string | null> {
  const { store } = deps;
  const ds = evaluated.dataset;
  const prefix = versionPrefix(ds, evaluated.dataset_version);
  const uploaded: string[] = [];
  const fail = (point: FaultPoint) => {
    if (deps.fault === point) {
      throw new AppError('PUB_ERR_INJECTED_FAULT', `injected fault (PUBLISH_FAULT_INJECTION=${point})`);
    }
  };
  try {
    // Pushed before the copy ends: a copy that fails or does not match is removed by the rollback.
    uploaded.push(`${prefix}candidate.jsonl`);
    const { location, sha256: checksum } = await deps.candidates.publish(
      evaluated.candidate_uri,
      `${prefix}candidate.jsonl`,
    );
    if (checksum !== evaluated.candidate_checksum) {
      throw new AppError(
        'PUB_ERR_CANDIDATE_CHECKSUM',
        `candidate checksum mismatch (event ${evaluated.candidate_checksum}, read ${checksum})`,
      );
    }
    fail('after_candidate_upload');
    const reportUri = await store.put(
      `${prefix}quality_report.json`,
      await deps.reader.read(evaluated.report_uri),
    );
    uploaded.push(`${prefix}quality_report.json`);

    const generatedAt = (deps.now ?? (() => new Date()))();
    const evaluatedAt = new Date(evaluated.occurred_at);
    const manifest = stringify({
      dataset: ds,
      dataset_version: evaluated.dataset_version,
      // The dataset whose declaration holds this evaluation set (null: not declared).
      declared_by: declared?.dataset ?? null,
      run_id: runId,
      location,
      checksum: { algorithm: 'sha256', value: checksum },
      rows: evaluated.candidate_rows,
      generated_at: generatedAt.toISOString(),
      evaluated_at: evaluatedAt.toISOString(),
      versions: {
        source_hash: evaluated.source_hash,
        master_version: evaluated.master_version,
        baseline: evaluated.baseline_name,
      },
      quality_report: reportUri,
    });
    const versionManifestUri = await store.put(`${prefix}dataset_manifest.yaml`, manifest);
    uploaded.push(`${prefix}dataset_manifest.yaml`);

    // Under the dataset's lock: another publish cannot move the current manifest between the check
    // and the catalog row, nor see this one's manifest before its rollback restored the previous one.
    const keptCurrent = await deps.repo.withDatasetLock(ds, async () => {
      const latest = await deps.repo.latest(ds);
      const becomesCurrent = !latest || isAfter(evaluatedAt, evaluated.dataset_version, latest);
      const previousManifest = becomesCurrent ? await store.get(manifestKey(ds)) : undefined;
      let manifestWritten = false;
      try {
        // A version that is not current names its own manifest: the current one is a newer version's.
        const manifestUri = becomesCurrent ? await store.put(manifestKey(ds), manifest) : versionManifestUri;
        manifestWritten = becomesCurrent;
        fail('after_manifest_write');
        const { entry, event } = publishedRecords(evaluated, runId, {
          declaredBy: declared?.dataset ?? null,
          location,
          checksum,
          manifestUri,
          reportUri,
          generatedAt,
          evaluatedAt,
        });
        await deps.repo.recordPublished(entry, event);
        return becomesCurrent ? undefined : latest.datasetVersion;
      } catch (err) {
        if (manifestWritten) {
          if (previousManifest) await store.put(manifestKey(ds), previousManifest);
          else await store.delete([manifestKey(ds)]);
        }
        throw err;
      }
    });
    if (keptCurrent === undefined) deps.logger.info({ location }, 'dataset published');
    else
      deps.logger.info(
        { location, current: keptCurrent },
        'dataset published; a later version stays current',
      );
    return null;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    deps.logger.warn({ reason, uploaded }, 'publish failed: rolling back');
    await store.delete(uploaded);
    return reason;
  }
}

/** The catalog row of a published version and its dataset.published. */
function publishedRecords(
  evaluated: QualityEvaluated,
  runId: string,
  p: {
    declaredBy: string | null;
    location: string;
    checksum: string;
    manifestUri: string;
    reportUri: string;
    generatedAt: Date;
    evaluatedAt: Date;
  },
): { entry: CatalogEntry; event: DatasetPublished } {
  const entry: CatalogEntry = {
    dataset: evaluated.dataset,
    datasetVersion: evaluated.dataset_version,
    sourceHash: evaluated.source_hash,
    masterVersion: evaluated.master_version,
    location: p.location,
    checksum: p.checksum,
    manifestUri: p.manifestUri,
    qualityReportUri: p.reportUri,
    generatedAt: p.generatedAt.toISOString(),
    evaluatedAt: p.evaluatedAt.toISOString(),
    runId,
    declaredBy: p.declaredBy,
  };
  const event: DatasetPublished = {
    event_id: newEventId(),
    occurred_at: eventTime(),
    run_id: runId,
    dataset: evaluated.dataset,
    dataset_version: evaluated.dataset_version,
    source_hash: evaluated.source_hash,
    master_version: evaluated.master_version,
    location: p.location,
    checksum: p.checksum,
    manifest_uri: p.manifestUri,
    quality_report_uri: p.reportUri,
    generated_at: eventTime(p.generatedAt),
  };
  return { entry, event };
}

/** Archives the report, the run log and the candidate diff vs the previous published version. */
async function archive(
  evaluated: QualityEvaluated,
  outcome: ArchiveRecord['outcome'],
  reason: string | null,
  previous: CatalogEntry | undefined,
  declared: EvaluationSetDeclaration | undefined,
  deps: PublishDeps,
): Promise<void> {
  if (await deps.repo.findArchive(evaluated.dataset_version)) return;
  const prefix = archivePrefix(evaluated.dataset, evaluated.dataset_version);
  // A run that failed before the gate has no candidate nor report (empty URIs).
  const readIfAny = (uri: string) =>
    uri === '' ? Promise.resolve(undefined) : deps.reader.read(uri).catch(() => undefined);
  const compared = await deps.candidates.diff(
    evaluated.candidate_uri === '' ? undefined : evaluated.candidate_uri,
    previous && previous.datasetVersion !== evaluated.dataset_version
      ? `${versionPrefix(evaluated.dataset, previous.datasetVersion)}candidate.jsonl`
      : undefined,
  );
  const diff = {
    dataset_version: evaluated.dataset_version,
    previous_version: compared.previous ? previous!.datasetVersion : null,
    rows: compared.rows,
    added: compared.added,
    removed: compared.removed,
  };
  const report = await readIfAny(evaluated.report_uri);
  if (report) await deps.store.put(`${prefix}quality_report.json`, report);
  await deps.store.put(`${prefix}candidate_diff.json`, JSON.stringify(diff, null, 2) + '\n');
  const log = {
    dataset: evaluated.dataset,
    dataset_version: evaluated.dataset_version,
    run_id: evaluated.run_id,
    outcome,
    reason,
    failed_task: evaluated.failed_task,
    metrics: evaluated.metrics,
    coverage_gaps: evaluated.coverage_gaps,
    archived_at: (deps.now ?? (() => new Date()))().toISOString(),
    declared_by: declared?.dataset ?? null,
    // The retention in force when archived; a later change of the declaration applies to it too.
    retention_days: declared?.retentionDays ?? deps.retentionDays,
  };
  await deps.store.put(`${prefix}run_log.json`, JSON.stringify(log, null, 2) + '\n');
  await deps.repo.recordArchive({
    datasetVersion: evaluated.dataset_version,
    dataset: evaluated.dataset,
    outcome,
    reason,
    prefix,
  });
  deps.logger.info({ prefix, outcome }, 'artifacts archived');
}
