import { randomBytes } from 'node:crypto';
import type { RefreshJob } from '@tributary/catalog';
import { AppError } from '@tributary/errors';
import { eventTime, newEventId, type QualityEvaluated, type RefreshTrigger } from '@tributary/events';
import { currentTraceparent, withLogFields, withTask, type Logger, type Span } from '@tributary/telemetry';
import type {
  ArtifactStore,
  Augmentation,
  CandidateWritten,
  EngineContext,
  EngineRun,
  MasterReader,
  MasterVersions,
  RefreshEngine,
  RunCancellations,
  RunStore,
  SourceRef,
  Thresholds,
  ToxicityScorer,
} from './ports.ts';
import { generateCandidate, ingestSources, qualityGate, type GateOutcome } from './refresh-tasks.ts';
import { TaskFailure } from './task-failure.ts';

export interface RefreshSettings {
  /** The refresh job (evaluation set): names the run's artifacts and the `dataset` of quality.evaluated. */
  job: string;
  /** The declared dataset of the job, whose master a master source reads. */
  dataset: string;
  sources: readonly SourceRef[];
  schemaVersion: string;
  stratifyColumn: string;
  fraction: number;
  seed: number;
  /** Column the text checks (diversity, toxicity) score; null: the job has no text, no text checks. */
  textColumn: string | null;
  /** Share of the text column's words dropped (0: none). */
  textDropout: number;
  /** Engine of sampling and augmentation (the job's `engine`). */
  engine: 'duckdb' | 'ray';
  /** Longest the engine's work may take (a cluster job is stopped past it). */
  engineTimeoutMs: number;
  baselineName: string;
  thresholds: Thresholds;
  /** Delay before each retry of a run whose task failed for a retriable reason (2 and 10 minutes). */
  retryDelaysMs: readonly number[];
  /** Where the settings come from, recorded with the run and in its report. */
  origin: {
    kind: 'catalog' | 'env';
    /** Catalog revision they were read at; null for the env job. */
    catalogRevision: number | null;
    /** The job's declaration as used. */
    spec: RefreshJob;
  };
}

export interface RefreshDeps {
  settings: RefreshSettings;
  /** The engine the job's `engine` names. */
  engine: RefreshEngine;
  /** The master versions seen, for a master source (`{"master": true}`). */
  masters: Pick<MasterVersions, 'get' | 'latest'>;
  masterReader: Pick<MasterReader, 'parts'>;
  store: ArtifactStore;
  runs: RunStore;
  toxicity: ToxicityScorer;
  augmentations: readonly Augmentation[];
  /** Tells a run cancelled by an operator (its engine work is aborted, nothing is published). */
  cancellations?: RunCancellations;
  logger: Logger;
  /** The clock (tests pin it); the system's by default. */
  now?: () => Date;
}

export interface RefreshRequest {
  trigger: RefreshTrigger;
  runId: string;
  /** Scheduled minute (ISO); a second request for the same minute does nothing. */
  scheduledFor?: string;
  masterVersion?: number;
  /** W3C traceparent of the run's span, stored with a new run so that its retries continue its trace. */
  traceparent?: string;
  /** Runs again a run parked for a retry, under its dataset_version. */
  resume?: { datasetVersion: string; attempt: number };
}

export type RefreshResult =
  | { status: 'duplicate'; datasetVersion: undefined }
  | {
      /**
       * `superseded`: the run was recovered as stale while this replica still executed it;
       * `cancelled`: an operator cancelled it. Either way this replica wrote no outcome and no event.
       */
      status: 'passed' | 'failed' | 'retrying' | 'superseded' | 'cancelled';
      datasetVersion: string;
      failedTask: string | null;
      reason: string | null;
      seconds: number;
    };

/** The run was taken over (recovered as stale) while this replica still executed it. */
class Superseded extends Error {
  readonly datasetVersion: string;
  constructor(datasetVersion: string) {
    super(`run ${datasetVersion} was recovered by another replica meanwhile`);
    this.datasetVersion = datasetVersion;
  }
}

/**
 * The seed's `ingest_sources` → `generate_candidate` → `quality_gate`: reads and verifies the
 * sources, samples and augments a candidate, measures it against the baseline, writes the
 * candidate and `quality_report.json`, and enqueues `quality.evaluated` with the run's outcome
 * (also when a task failed before the gate, with `status: TASK_FAILED`).
 */
export async function refreshDataset(asked: RefreshRequest, deps: RefreshDeps): Promise<RefreshResult> {
  const { settings } = deps;
  const now = deps.now ?? (() => new Date());
  const started = performance.now();
  const request = await withMasterVersion(asked, deps);
  const datasetVersion = request.resume?.datasetVersion ?? newDatasetVersion(settings.job, now());
  const attempt = request.resume?.attempt ?? 1;
  if (!request.resume) {
    const created = await deps.runs.start({
      datasetVersion,
      job: settings.job,
      dataset: settings.dataset,
      trigger: request.trigger,
      scheduledFor: request.scheduledFor ?? null,
      masterVersion: request.masterVersion ?? null,
      runId: request.runId,
      traceparent: request.traceparent ?? null,
      settings: settings.origin.spec,
      settingsOrigin: settings.origin.kind,
      catalogRevision: settings.origin.catalogRevision,
    });
    // Same job and scheduled time, or a redelivered master.versioned: that run goes on by its own means.
    if (!created) return { status: 'duplicate', datasetVersion: undefined };
  }
  const current = { task: 'ingest_sources' };
  const task = async <T>(taskId: string, fn: (span: Span) => Promise<T>) => {
    current.task = taskId;
    // The heartbeat between tasks tells the stale-run check this run is alive, and fences it.
    if (!(await deps.runs.heartbeat(datasetVersion, attempt, taskId))) throw new Superseded(datasetVersion);
    const attributes = {
      dataset: settings.job,
      dataset_version: datasetVersion,
      master_version: request.masterVersion,
      attempt,
    };
    return withTask(taskId, attributes, async (span) => {
      deps.logger.info('task started');
      const value = await fn(span);
      deps.logger.info('task succeeded');
      return value;
    });
  };
  const cancel = deps.cancellations?.watch(datasetVersion);
  // The run's row moved on without this replica: an operator cancelled it, or it was recovered as stale.
  const superseded = async (): Promise<RefreshResult> => {
    // Not knowing (the store briefly away) reads as superseded: either way nothing more is written.
    const cancelled = await cancel?.cancelled().catch(() => undefined);
    if (cancelled) deps.logger.warn({ attempt, reason: cancelled.message }, 'dataset refresh cancelled');
    else
      deps.logger.warn({ attempt }, 'dataset refresh superseded: the run was recovered as stale meanwhile');
    return {
      status: cancelled ? 'cancelled' : 'superseded',
      datasetVersion,
      failedTask: null,
      reason: cancelled?.message ?? null,
      seconds: (performance.now() - started) / 1000,
    };
  };

  return withLogFields({ dataset_version: datasetVersion }, async () => {
    let sourceHash: string | null = null;
    let engineRun: EngineRun | undefined;
    // The engine's calls of this attempt: a cluster job's logs go to the task's log lines, and the
    // job is stopped when the attempt outlives the job's engine_timeout.
    const ctx: EngineContext = {
      log: (line) => deps.logger.info({ engine: settings.engine, job_log: line }, 'engine log'),
      runId: request.runId,
      traceparent: request.traceparent ?? currentTraceparent(),
      signal: cancel
        ? AbortSignal.any([AbortSignal.timeout(settings.engineTimeoutMs), cancel.signal])
        : AbortSignal.timeout(settings.engineTimeoutMs),
    };
    try {
      engineRun = await deps.engine.open(datasetVersion);
      const opened = engineRun;
      const rows = await task('ingest_sources', () =>
        ingestSources(deps, opened, ctx, request.masterVersion),
      );
      sourceHash = rows.sourceHash;
      const candidate = await task('generate_candidate', (span) =>
        generateCandidate(deps, opened, ctx, { datasetVersion, sourceHash: rows.sourceHash }, span),
      );
      const gate = await task('quality_gate', (span) =>
        qualityGate(deps, opened, { datasetVersion, runId: request.runId, sources: rows, candidate }, span),
      );
      // Nothing more is read from the engine: its scratch goes before the run's end is announced.
      await closeQuietly(opened, deps.logger);
      const failedMetrics = gate.metrics.filter((m) => !m.pass).map((m) => m.metric);
      const reason = gate.passed ? null : `quality gate failed: ${failedMetrics.join(', ')}`;
      const event = evaluatedEvent(
        request,
        datasetVersion,
        settings,
        rows.sourceHash,
        candidate,
        gate,
        reason,
      );
      const finished = await deps.runs.finish(
        datasetVersion,
        attempt,
        {
          status: gate.passed ? 'passed' : 'failed',
          failedTask: gate.passed ? null : 'quality_gate',
          reason,
          sourceHash,
          reportUri: gate.reportUri,
          candidateUri: candidate.uri,
        },
        event,
      );
      if (!finished) return superseded();
      deps.logger.info({ passed: gate.passed, reason }, 'dataset refresh finished');
      return {
        status: gate.passed ? 'passed' : 'failed',
        datasetVersion,
        failedTask: gate.passed ? null : 'quality_gate',
        reason,
        seconds: (performance.now() - started) / 1000,
      };
    } catch (caught) {
      let err = caught;
      if (err instanceof Superseded) return superseded();
      // A problem retrying will not change (a text column absent, a cluster job that failed).
      if (err instanceof AppError && !err.retriable) err = new TaskFailure(current.task, err.message);
      if (!(err instanceof TaskFailure)) {
        // A retriable failure (storage, a source not yet there): park the run instead of blocking on it.
        const message = err instanceof Error ? err.message : String(err);
        const delay = settings.retryDelaysMs[attempt - 1];
        if (delay !== undefined) {
          const reason = `${current.task} attempt ${attempt} failed: ${message}`;
          const parked = await deps.runs.scheduleRetry(
            datasetVersion,
            attempt + 1,
            new Date(now().getTime() + delay),
            current.task,
            reason,
          );
          if (!parked) return superseded();
          deps.logger.warn(
            { task_id: current.task, reason, retry_in_ms: delay },
            'dataset refresh task will be retried',
          );
          return {
            status: 'retrying',
            datasetVersion,
            failedTask: current.task,
            reason,
            seconds: (performance.now() - started) / 1000,
          };
        }
        err = new TaskFailure(current.task, `${current.task} failed after ${attempt} attempts: ${message}`);
      }
      if (!(err instanceof TaskFailure)) throw err;
      const finished = await deps.runs.finish(
        datasetVersion,
        attempt,
        {
          status: 'failed',
          failedTask: err.task,
          reason: err.message,
          sourceHash,
          reportUri: null,
          candidateUri: null,
        },
        failedRunEvent(request, datasetVersion, sourceHash, err, settings),
      );
      if (!finished) return superseded();
      deps.logger.warn({ task_id: err.task, reason: err.message }, 'dataset refresh failed');
      return {
        status: 'failed',
        datasetVersion,
        failedTask: err.task,
        reason: err.message,
        seconds: (performance.now() - started) / 1000,
      };
    } finally {
      // The scratch database and files go whatever the outcome; a cluster job still running is stopped.
      if (engineRun) await closeQuietly(engineRun, deps.logger);
      cancel?.stop();
    }
  });
}

/** The fields every quality.evaluated of a run carries, whatever its outcome. */
function eventHead(
  request: Pick<RefreshRequest, 'runId' | 'trigger' | 'masterVersion'>,
  datasetVersion: string,
  sourceHash: string,
  settings: Pick<RefreshSettings, 'job' | 'baselineName'>,
) {
  return {
    event_id: newEventId(),
    occurred_at: eventTime(),
    run_id: request.runId,
    dataset: settings.job,
    dataset_version: datasetVersion,
    source_hash: sourceHash,
    master_version: request.masterVersion ?? null,
    trigger: request.trigger,
    baseline_name: settings.baselineName,
  };
}

/** quality.evaluated of a run whose gate measured its candidate (`EVALUATED`, passed or not). */
function evaluatedEvent(
  request: Pick<RefreshRequest, 'runId' | 'trigger' | 'masterVersion'>,
  datasetVersion: string,
  settings: Pick<RefreshSettings, 'job' | 'baselineName'>,
  sourceHash: string,
  candidate: CandidateWritten,
  gate: GateOutcome,
  reason: string | null,
): QualityEvaluated {
  return {
    ...eventHead(request, datasetVersion, sourceHash, settings),
    passed: gate.passed,
    report_uri: gate.reportUri,
    candidate_uri: candidate.uri,
    candidate_checksum: candidate.checksum,
    candidate_rows: candidate.rows,
    metrics: gate.metrics.map((m) => ({
      name: m.metric,
      baseline: m.baseline,
      value: m.value,
      delta: m.delta,
      threshold: m.threshold,
      passed: m.pass,
    })),
    coverage_gaps: gate.gaps,
    status: 'EVALUATED',
    failed_task: gate.passed ? null : 'quality_gate',
    failure_reason: reason,
  };
}

/**
 * quality.evaluated for a run that failed before the gate measured a candidate (`all_done`):
 * passed=false with the failed task and reason, so the publisher archives it and the notifier pages.
 * Candidate fields are empty (no candidate, no report).
 */
export function failedRunEvent(
  request: Pick<RefreshRequest, 'runId' | 'trigger' | 'masterVersion'>,
  datasetVersion: string,
  sourceHash: string | null,
  failure: Pick<TaskFailure, 'task' | 'message'>,
  settings: Pick<RefreshSettings, 'job' | 'baselineName'>,
): QualityEvaluated {
  return {
    ...eventHead(request, datasetVersion, sourceHash ?? '', settings),
    passed: false,
    report_uri: '',
    candidate_uri: '',
    candidate_checksum: '',
    candidate_rows: 0,
    metrics: [],
    coverage_gaps: [],
    status: 'TASK_FAILED',
    failed_task: failure.task,
    failure_reason: failure.message,
  };
}

/**
 * A new manual or scheduled run with a master source reads the latest master version seen, recorded
 * as the run's master_version; a master.versioned run reads its own, and a resumed run the one it stored
 * (so every attempt reads the same bytes).
 */
async function withMasterVersion(request: RefreshRequest, deps: RefreshDeps): Promise<RefreshRequest> {
  if (request.masterVersion !== undefined || request.resume !== undefined) return request;
  if (!deps.settings.sources.some((s) => s.master === true)) return request;
  const latest = await deps.masters.latest(deps.settings.dataset);
  return latest === undefined ? request : { ...request, masterVersion: latest.version };
}

async function closeQuietly(run: EngineRun, logger: Logger): Promise<void> {
  await run.close().catch((err: unknown) => logger.warn({ err }, 'engine scratch not removed'));
}

function newDatasetVersion(dataset: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  return `${dataset}-${stamp}-${randomBytes(3).toString('hex')}`;
}
