import { randomBytes } from 'node:crypto';
import type { RefreshJob } from '@tributary/catalog';
import type { RefreshTrigger } from '@tributary/events';
import {
  currentRunId,
  currentTraceparent,
  withSpan,
  withSpanInTrace,
  type Logger,
  type Metrics,
} from '@tributary/telemetry';
import type {
  Augmentation,
  DueRun,
  JobSettings,
  RefreshEngine,
  RunStore,
  StaleRun,
} from '../domain/ports.ts';
import { recoverStaleRuns, type StaleRecovery } from '../domain/recover-stale-runs.ts';
import {
  refreshDataset,
  type RefreshDeps,
  type RefreshResult,
  type RefreshSettings,
} from '../domain/refresh-dataset.ts';
import { runSettings, type RefreshJobs } from '../domain/refresh-jobs.ts';

export const DAG = 'dataset_refresh';

/** The settings a parked run stored at its start, which its retry reads again. */
export type StoredRunSettings = Pick<
  DueRun,
  'job' | 'dataset' | 'settings' | 'settingsOrigin' | 'catalogRevision'
>;

/** Starts refresh runs of a job from any trigger (schedule, admin API, master.versioned) and records the DAG metrics. */
export type RunRefresh = (request: {
  /** The refresh job (evaluation set) to run. */
  job: string;
  trigger: RefreshTrigger;
  runId?: string;
  scheduledFor?: string;
  masterVersion?: number;
  resume?: { datasetVersion: string; attempt: number; stored: StoredRunSettings };
}) => Promise<RefreshResult | { status: 'unknown_job'; datasetVersion: undefined }>;

export interface RunnerDeps extends Omit<RefreshDeps, 'settings' | 'augmentations' | 'engine'> {
  jobs: RefreshJobs;
  /** The engine a job's `engine` names. */
  engineFor: (spec: RefreshJob) => RefreshEngine;
  /** The augmentations a job's settings ask for. */
  augmentationsFor: (spec: RefreshJob) => Augmentation[];
  /** Stores the job's baseline from its `baseline.seed` when it does not exist yet. */
  seedBaseline: (job: JobSettings) => Promise<void>;
}

/**
 * A new run reads its job's settings from the catalog at its start (a changed threshold applies to
 * the next run, without a restart); a retry reads the settings its run stored, so every attempt of
 * a run uses the same ones.
 */
export function refreshRunner(deps: RunnerDeps, metrics: Metrics): RunRefresh {
  // The one series this service counts, exported at 0 from the start: a series first appearing at
  // 1 has no increase(), so TributaryQualityGateFailed would miss the first failed run after a start.
  metrics.dagStatus.inc({ dag: DAG, status: 'failed' }, 0);
  return (request) =>
    withSpan(
      `${DAG} ${request.trigger.toLowerCase()}`,
      { dag: DAG, trigger: request.trigger, job: request.job },
      async () => {
        const job = request.resume
          ? (storedJob(request.resume.stored) ?? (await deps.jobs.current(request.job)))
          : await deps.jobs.current(request.job);
        if (!job) {
          deps.logger.warn({ job: request.job, trigger: request.trigger }, 'no refresh job has this name');
          return { status: 'unknown_job' as const, datasetVersion: undefined };
        }
        if (!request.resume) await deps.seedBaseline(job);
        // Schedule and admin triggers start a run, so the run id is this span's trace (or a fresh id without tracing).
        const runId = request.runId ?? currentRunId() ?? randomBytes(16).toString('hex');
        // Stored with a new run: its retries and its stale recovery continue this span's trace.
        const traceparent = currentTraceparent();
        const { job: _job, resume, ...rest } = request;
        const result = await refreshDataset(
          {
            ...rest,
            ...(resume ? { resume: { datasetVersion: resume.datasetVersion, attempt: resume.attempt } } : {}),
            runId,
            ...(traceparent === undefined ? {} : { traceparent }),
          },
          {
            ...deps,
            settings: runSettings(job),
            engine: deps.engineFor(job.spec),
            augmentations: deps.augmentationsFor(job.spec),
          },
        );
        if (result.status === 'passed' || result.status === 'failed') {
          const status = result.status === 'passed' ? 'success' : 'failed';
          metrics.dagDuration.observe({ dag: DAG, status }, result.seconds);
          // A passed run ends in the publisher, which counts it; only a run that ends here is counted here.
          if (result.status === 'failed') metrics.dagStatus.inc({ dag: DAG, status });
        }
        return result;
      },
    );
}

/** The job settings a run stored; undefined for runs stored before settings were (they read the job's now). */
export function storedJob(stored: StoredRunSettings): JobSettings | undefined {
  if (stored.settings === null || stored.settingsOrigin === null) return undefined;
  return {
    job: stored.job,
    dataset: stored.dataset,
    spec: stored.settings,
    origin: stored.settingsOrigin,
    catalogRevision: stored.catalogRevision,
  };
}

/** Recovers the runs stuck in `running` (see recoverStaleRuns) and records the DAG metrics of those it ends. */
export type RecoverStale = () => Promise<StaleRecovery[]>;

export function staleRunRecoverer(
  deps: { runs: Pick<RunStore, 'recoverStale'>; jobs: RefreshJobs; logger: Logger },
  metrics: Metrics,
  staleAfterMs: number,
): RecoverStale {
  // The settings the run stored; for a run stored before them, its job's as last loaded; for a job
  // no longer declared either, no retry is left (the run ends failed).
  const settingsFor = (run: StaleRun): Pick<RefreshSettings, 'job' | 'baselineName' | 'retryDelaysMs'> => {
    const spec = run.settings ?? deps.jobs.find(run.job)?.spec;
    return spec
      ? { job: run.job, baselineName: spec.baseline.name, retryDelaysMs: spec.retry_delays }
      : { job: run.job, baselineName: '', retryDelaysMs: [] };
  };
  return async () => {
    const fallbackRunId = currentRunId() ?? randomBytes(16).toString('hex');
    const recovered = await recoverStaleRuns({ runs: deps.runs, settingsFor }, staleAfterMs, fallbackRunId);
    for (const r of recovered) {
      const attributes = { dag: DAG, dataset_version: r.datasetVersion, status: r.status };
      await withSpanInTrace(r.traceparent, `${DAG} stale_recovery`, attributes, () => {
        deps.logger.warn(
          { dataset_version: r.datasetVersion, task_id: r.failedTask, status: r.status, reason: r.reason },
          'stale dataset refresh run recovered',
        );
        return Promise.resolve();
      });
      if (r.status === 'failed') {
        metrics.dagDuration.observe({ dag: DAG, status: 'failed' }, r.seconds);
        metrics.dagStatus.inc({ dag: DAG, status: 'failed' });
      }
    }
    return recovered;
  };
}
