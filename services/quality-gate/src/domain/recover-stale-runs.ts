import type { RunStore, StaleDecision, StaleRun } from './ports.ts';
import { failedRunEvent, type RefreshSettings } from './refresh-dataset.ts';

export interface StaleRecovery {
  datasetVersion: string;
  /** The run's traceparent, so that what is logged of its recovery belongs to its trace. */
  traceparent: string | null;
  /** `retrying`: parked for its next attempt; `failed`: no attempt left, quality.evaluated enqueued. */
  status: 'retrying' | 'failed';
  failedTask: string;
  reason: string;
  /** Seconds since the run started, for the DAG duration of a run that ends here. */
  seconds: number;
}

/**
 * Recovers the runs left `running` by a replica that died or hung: no heartbeat for `staleAfterMs`.
 * Each is handled as a failed attempt of the task it was in: parked for a retry (its refresh-retry job) when
 * an attempt remains (its job's `retry_delays`), else ended `failed` with quality.evaluated `TASK_FAILED`.
 * The store takes each run under a row lock (SKIP LOCKED), so one replica recovers it.
 */
export async function recoverStaleRuns(
  deps: {
    runs: Pick<RunStore, 'recoverStale'>;
    /** The settings of the run's job: those it stored at its start (else its job's as declared now). */
    settingsFor: (run: StaleRun) => Pick<RefreshSettings, 'job' | 'baselineName' | 'retryDelaysMs'>;
    /** The clock (tests pin it); the system's by default. */
    now?: () => Date;
  },
  staleAfterMs: number,
  /** Run id of the recovery itself, for the event of a run that stored none (runs before run ids). */
  fallbackRunId: string,
  limit = 10,
): Promise<StaleRecovery[]> {
  const now = deps.now ?? (() => new Date());
  const decide = (run: StaleRun): StaleDecision => {
    const settings = deps.settingsFor(run);
    const task = run.currentTask ?? 'ingest_sources';
    const stale = `run is stale: no heartbeat for more than ${staleAfterMs} ms (last ${run.heartbeatAt})`;
    const delay = settings.retryDelaysMs[run.attempt - 1];
    if (delay !== undefined) {
      return {
        kind: 'retry',
        attempt: run.attempt + 1,
        dueAt: new Date(now().getTime() + delay),
        failedTask: task,
        reason: `${task} attempt ${run.attempt} failed: ${stale}`,
      };
    }
    const reason = `${task} failed after ${run.attempt} attempts: ${stale}`;
    return {
      kind: 'fail',
      outcome: {
        status: 'failed',
        failedTask: task,
        reason,
        sourceHash: null,
        reportUri: null,
        candidateUri: null,
      },
      event: failedRunEvent(
        {
          runId: run.runId ?? fallbackRunId,
          trigger: run.trigger,
          ...(run.masterVersion === null ? {} : { masterVersion: run.masterVersion }),
        },
        run.datasetVersion,
        null,
        { task, message: reason },
        settings,
      ),
    };
  };
  const taken = await deps.runs.recoverStale(staleAfterMs, limit, decide);
  return taken.map(({ run, decision }) => ({
    datasetVersion: run.datasetVersion,
    traceparent: run.traceparent,
    status: decision.kind === 'retry' ? 'retrying' : 'failed',
    failedTask: decision.kind === 'retry' ? decision.failedTask : (decision.outcome.failedTask ?? ''),
    reason: decision.kind === 'retry' ? decision.reason : (decision.outcome.reason ?? ''),
    seconds: (now().getTime() - Date.parse(run.startedAt)) / 1000,
  }));
}
