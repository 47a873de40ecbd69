import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { eventTime, newEventId, type DatasetPublished, type QualityEvaluated } from '@tributary/events';
import { withLogFields, withTask, type Logger } from '@tributary/telemetry';
import type {
  ArchiveRecord,
  ArtifactReader,
  CatalogEntry,
  FaultPoint,
  PublishRepository,
  PublishStore,
} from './ports.ts';

export interface PublishDeps {
  store: PublishStore;
  reader: ArtifactReader;
  repo: PublishRepository;
  fault: FaultPoint;
  /** Attempts of a version the fault applies to (the later ones succeed). */
  faultAttempts: number;
  /** Delay before each retry of a failed publish (2 and 10 minutes by default). */
  retryDelaysMs: readonly number[];
  retentionDays: number;
  logger: Logger;
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
  ctx: { runId: string; attempt?: number },
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
    const previous = await deps.repo.latest(evaluated.dataset);
    let outcome: ArchiveRecord['outcome'] = evaluated.status === 'TASK_FAILED' ? 'run_failed' : 'gate_failed';
    let reason: string | null = evaluated.passed ? null : (evaluated.failure_reason ?? 'quality gate failed');
    let published = false;
    if (evaluated.passed) {
      const done = await deps.repo.findCatalog(evaluated.dataset_version);
      if (done) outcome = 'published';
      else {
        const fault = attempt <= deps.faultAttempts ? deps.fault : 'none';
        reason = await withTask('publish_dataset', taskAttributes, async (span) => {
          const failed = await publish(evaluated, ctx.runId, { ...deps, fault });
          span.setAttribute('tributary.published', failed === null);
          return failed;
        });
        const delay = deps.retryDelaysMs[attempt - 1];
        if (reason !== null && delay !== undefined) {
          await deps.repo.scheduleRetry(
            evaluated,
            ctx.runId,
            attempt + 1,
            new Date(Date.now() + delay),
            reason,
          );
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
        if (attempt > 1) await deps.repo.clearRetry(evaluated.dataset_version);
        outcome = reason === null ? 'published' : 'publish_failed';
        published = reason === null;
      }
    }
    await withTask('archive_artifacts', { ...taskAttributes, outcome }, () =>
      archive(evaluated, outcome, reason, previous, deps),
    );
    return { outcome, reason, published, seconds: (performance.now() - started) / 1000 };
  });
}

/** Publishes a version; answers null, or the reason it failed after rolling back. */
async function publish(
  evaluated: QualityEvaluated,
  runId: string,
  deps: PublishDeps,
): Promise<string | null> {
  const { store } = deps;
  const ds = evaluated.dataset;
  const prefix = versionPrefix(ds, evaluated.dataset_version);
  const uploaded: string[] = [];
  const previousManifest = await store.get(manifestKey(ds));
  let manifestWritten = false;
  const fail = (point: FaultPoint) => {
    if (deps.fault === point) throw new Error(`injected fault (PUBLISH_FAULT_INJECTION=${point})`);
  };
  try {
    const candidate = await deps.reader.read(evaluated.candidate_uri);
    const checksum = createHash('sha256').update(candidate).digest('hex');
    if (checksum !== evaluated.candidate_checksum) {
      throw new Error(
        `candidate checksum mismatch (event ${evaluated.candidate_checksum}, read ${checksum})`,
      );
    }
    const location = await store.put(`${prefix}candidate.jsonl`, candidate);
    uploaded.push(`${prefix}candidate.jsonl`);
    fail('after_candidate_upload');
    const reportUri = await store.put(
      `${prefix}quality_report.json`,
      await deps.reader.read(evaluated.report_uri),
    );
    uploaded.push(`${prefix}quality_report.json`);

    const generatedAt = new Date();
    const manifest = stringify({
      dataset: ds,
      dataset_version: evaluated.dataset_version,
      run_id: runId,
      location,
      checksum: { algorithm: 'sha256', value: checksum },
      rows: evaluated.candidate_rows,
      generated_at: generatedAt.toISOString(),
      versions: {
        source_hash: evaluated.source_hash,
        master_version: evaluated.master_version,
        baseline: evaluated.baseline_name,
      },
      quality_report: reportUri,
    });
    await store.put(`${prefix}dataset_manifest.yaml`, manifest);
    uploaded.push(`${prefix}dataset_manifest.yaml`);
    const manifestUri = await store.put(manifestKey(ds), manifest);
    manifestWritten = true;
    fail('after_manifest_write');

    const entry: CatalogEntry = {
      dataset: ds,
      datasetVersion: evaluated.dataset_version,
      sourceHash: evaluated.source_hash,
      masterVersion: evaluated.master_version,
      location,
      checksum,
      manifestUri,
      qualityReportUri: reportUri,
      generatedAt: generatedAt.toISOString(),
      runId,
    };
    const event: DatasetPublished = {
      event_id: newEventId(),
      occurred_at: eventTime(),
      run_id: runId,
      dataset: ds,
      dataset_version: evaluated.dataset_version,
      source_hash: evaluated.source_hash,
      master_version: evaluated.master_version,
      location,
      checksum,
      manifest_uri: manifestUri,
      quality_report_uri: reportUri,
      generated_at: eventTime(generatedAt),
    };
    await deps.repo.recordPublished(entry, event);
    deps.logger.info({ location }, 'dataset published');
    return null;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    deps.logger.warn({ reason, uploaded }, 'publish failed: rolling back');
    await store.delete(uploaded);
    if (manifestWritten) {
      if (previousManifest) await store.put(manifestKey(ds), previousManifest);
      else await store.delete([manifestKey(ds)]);
    }
    return reason;
  }
}

/** Archives the report, the run log and the candidate diff vs the previous published version. */
async function archive(
  evaluated: QualityEvaluated,
  outcome: ArchiveRecord['outcome'],
  reason: string | null,
  previous: CatalogEntry | undefined,
  deps: PublishDeps,
): Promise<void> {
  if (await deps.repo.findArchive(evaluated.dataset_version)) return;
  const prefix = archivePrefix(evaluated.dataset, evaluated.dataset_version);
  // A run that failed before the gate has no candidate nor report (empty URIs).
  const readIfAny = (uri: string) =>
    uri === '' ? Promise.resolve(undefined) : deps.reader.read(uri).catch(() => undefined);
  const candidate = await readIfAny(evaluated.candidate_uri);
  const before =
    previous && previous.datasetVersion !== evaluated.dataset_version
      ? await deps.store.get(`${versionPrefix(evaluated.dataset, previous.datasetVersion)}candidate.jsonl`)
      : undefined;
  const lines = (b: Buffer | undefined) => new Set((b?.toString('utf8') ?? '').split('\n').filter(Boolean));
  const now = lines(candidate);
  const then = lines(before);
  const diff = {
    dataset_version: evaluated.dataset_version,
    previous_version: before ? previous!.datasetVersion : null,
    rows: now.size,
    added: [...now].filter((l) => !then.has(l)).length,
    removed: [...then].filter((l) => !now.has(l)).length,
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
    archived_at: new Date().toISOString(),
    retention_days: deps.retentionDays,
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
