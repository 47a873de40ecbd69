import { refreshJobSchema, type RefreshJob } from '@tributary/catalog';
import { withTransaction, type Pool, type PoolClient } from '@tributary/db';
import { qualityEvaluated, type QualityEvaluated, type RefreshTrigger } from '@tributary/events';
import { enqueueEvent } from '@tributary/outbox';
import type {
  Baseline,
  DueRun,
  RefreshRun,
  RunOutcome,
  RunStore,
  StaleDecision,
  StaleRun,
} from '../domain/ports.ts';

interface RunRow {
  dataset_version: string;
  job: string;
  dataset: string;
  trigger: RefreshTrigger;
  scheduled_for: Date | null;
  master_version: string | null;
  status: RefreshRun['status'];
  failed_task: string | null;
  reason: string | null;
  source_hash: string | null;
  report_uri: string | null;
  candidate_uri: string | null;
  started_at: Date;
  finished_at: Date | null;
  attempt: number;
  next_attempt_at: Date | null;
  run_id: string | null;
  heartbeat_at: Date;
  current_task: string | null;
  traceparent: string | null;
  settings: unknown;
  settings_origin: 'catalog' | 'env' | null;
  catalog_revision: string | null;
}

const FINISH = `UPDATE refresh_runs SET status = $3, failed_task = $4, reason = $5, source_hash = $6,
    report_uri = $7, candidate_uri = $8, finished_at = now(), next_attempt_at = NULL, heartbeat_at = now()
  WHERE dataset_version = $1 AND attempt = $2 AND status = 'running'`;

const RETRY = `UPDATE refresh_runs SET status = 'retrying', attempt = $2, next_attempt_at = $3, failed_task = $4,
    reason = $5, heartbeat_at = now()
  WHERE dataset_version = $1 AND attempt = $2 - 1 AND status = 'running'
  RETURNING traceparent`;

/** A run parked for its next attempt: what its retry job needs. */
export interface ParkedRun {
  datasetVersion: string;
  /** The attempt the retry is. */
  attempt: number;
  dueAt: Date;
  /** The run's trace, continued by the retry (null for runs stored before it was kept). */
  traceparent: string | null;
}

/**
 * Refresh runs in the service's Postgres schema (and the baseline a run reads): the record of each
 * run the console and the admin API show. A run parked for a retry is scheduled by `parkRetry`
 * (the refresh-retry job), sent in the transaction that records it as retrying; without it (readers
 * of the record) nothing is scheduled.
 */
export class RunsRepository implements RunStore {
  private readonly pool: Pool;
  private readonly parkRetry: (tx: PoolClient, run: ParkedRun) => Promise<unknown>;
  constructor(pool: Pool, opts: { parkRetry?: (tx: PoolClient, run: ParkedRun) => Promise<unknown> } = {}) {
    this.pool = pool;
    this.parkRetry = opts.parkRetry ?? (() => Promise.resolve());
  }

  async start(run: Parameters<RunStore['start']>[0]): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      // No conflict target: the job's scheduled time (refresh_runs_job_scheduled_key) and the job's
      // master version of a master.versioned run (refresh_runs_job_master_version_key) are both
      // unique, and either makes it a duplicate.
      `INSERT INTO refresh_runs
         (dataset_version, job, dataset, trigger, scheduled_for, master_version, run_id, traceparent,
          settings, settings_origin, catalog_revision)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
      [
        run.datasetVersion,
        run.job,
        run.dataset,
        run.trigger,
        run.scheduledFor,
        run.masterVersion,
        run.runId,
        run.traceparent,
        run.settings === null ? null : JSON.stringify(run.settings),
        run.settingsOrigin,
        run.catalogRevision,
      ],
    );
    return rowCount === 1;
  }

  async heartbeat(datasetVersion: string, attempt: number, task: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE refresh_runs SET heartbeat_at = now(), current_task = $3
       WHERE dataset_version = $1 AND attempt = $2 AND status = 'running'`,
      [datasetVersion, attempt, task],
    );
    if (rowCount !== 1) return false;
    // The heartbeat comes at each task's start: it times the run's tasks.
    await this.pool.query(
      `INSERT INTO refresh_run_tasks (dataset_version, attempt, task) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [datasetVersion, attempt, task],
    );
    return true;
  }

  /** When each task of each attempt of a run started, in order. */
  async tasks(datasetVersion: string): Promise<{ attempt: number; task: string; startedAt: string }[]> {
    const { rows } = await this.pool.query<{ attempt: number; task: string; started_at: Date }>(
      `SELECT attempt, task, started_at FROM refresh_run_tasks WHERE dataset_version = $1
       ORDER BY attempt, started_at, task`,
      [datasetVersion],
    );
    return rows.map((r) => ({ attempt: r.attempt, task: r.task, startedAt: r.started_at.toISOString() }));
  }

  async finish(
    datasetVersion: string,
    attempt: number,
    o: RunOutcome,
    event: QualityEvaluated | undefined,
  ): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(FINISH, finishParams(datasetVersion, attempt, o));
      if (rowCount !== 1) return false;
      if (event) await enqueueEvent(client, qualityEvaluated, event);
      return true;
    });
  }

  async scheduleRetry(
    datasetVersion: string,
    attempt: number,
    dueAt: Date,
    failedTask: string,
    reason: string,
  ): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ traceparent: string | null }>(RETRY, [
        datasetVersion,
        attempt,
        dueAt,
        failedTask,
        reason,
      ]);
      if (rows.length !== 1) return false;
      await this.parkRetry(client, { datasetVersion, attempt, dueAt, traceparent: rows[0]!.traceparent });
      return true;
    });
  }

  async recoverStale(
    staleAfterMs: number,
    limit: number,
    decide: (run: StaleRun) => StaleDecision,
  ): Promise<{ run: StaleRun; decision: StaleDecision }[]> {
    return withTransaction(this.pool, async (client) => {
      // The row locks are held until commit; SKIP LOCKED leaves a run another replica is taking.
      const { rows } = await client.query<RunRow>(
        `SELECT * FROM refresh_runs
         WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => $1::double precision / 1000)
         ORDER BY heartbeat_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [staleAfterMs, limit],
      );
      const taken: { run: StaleRun; decision: StaleDecision }[] = [];
      for (const row of rows) {
        const r = toRun(row);
        const run: StaleRun = {
          datasetVersion: r.datasetVersion,
          job: r.job,
          settings: r.settings,
          trigger: r.trigger,
          scheduledFor: r.scheduledFor,
          masterVersion: r.masterVersion,
          attempt: r.attempt,
          runId: r.runId,
          traceparent: r.traceparent,
          startedAt: r.startedAt,
          heartbeatAt: r.heartbeatAt,
          currentTask: row.current_task,
        };
        const decision = decide(run);
        if (decision.kind === 'retry') {
          const d = decision;
          await client.query(RETRY, [run.datasetVersion, d.attempt, d.dueAt, d.failedTask, d.reason]);
          await this.parkRetry(client, {
            datasetVersion: run.datasetVersion,
            attempt: d.attempt,
            dueAt: d.dueAt,
            traceparent: run.traceparent,
          });
        } else {
          await client.query(FINISH, finishParams(run.datasetVersion, run.attempt, decision.outcome));
          // The event continues the run's trace, not the stale-run check's (runs stored without one: as before).
          const headers = run.traceparent === null ? {} : { traceparent: run.traceparent };
          await enqueueEvent(client, qualityEvaluated, decision.event, { headers });
        }
        taken.push({ run, decision });
      }
      return taken;
    });
  }

  /**
   * Takes a parked run for its retry (attempt `attempt`): it is `running` again from now on. Undefined
   * when it is no longer parked for that attempt (another replica took it, or it was recovered).
   */
  async claimRetry(datasetVersion: string, attempt: number): Promise<DueRun | undefined> {
    const { rows } = await this.pool.query<RunRow>(
      `UPDATE refresh_runs SET status = 'running', next_attempt_at = NULL, heartbeat_at = now()
       WHERE dataset_version = $1 AND attempt = $2 AND status = 'retrying'
       RETURNING *`,
      [datasetVersion, attempt],
    );
    const run = rows[0] && toRun(rows[0]);
    return (
      run && {
        datasetVersion: run.datasetVersion,
        job: run.job,
        dataset: run.dataset,
        settings: run.settings,
        settingsOrigin: run.settingsOrigin,
        catalogRevision: run.catalogRevision,
        trigger: run.trigger,
        scheduledFor: run.scheduledFor,
        masterVersion: run.masterVersion,
        attempt: run.attempt,
        runId: run.runId,
        traceparent: run.traceparent,
      }
    );
  }

  /** The runs parked for a retry, as an older release's poller left them (see the job worker's start). */
  async parked(): Promise<ParkedRun[]> {
    const { rows } = await this.pool.query<{
      dataset_version: string;
      attempt: number;
      next_attempt_at: Date | null;
      traceparent: string | null;
    }>(
      `SELECT dataset_version, attempt, next_attempt_at, traceparent FROM refresh_runs WHERE status = 'retrying'`,
    );
    return rows.map((r) => ({
      datasetVersion: r.dataset_version,
      attempt: r.attempt,
      dueAt: r.next_attempt_at ?? new Date(),
      traceparent: r.traceparent,
    }));
  }

  /**
   * Ends a running or parked run as cancelled with the reason; undefined when no such run is running
   * or parked (it ended, or does not exist). The replica executing it stops at its next check.
   */
  async cancel(datasetVersion: string, reason: string): Promise<RefreshRun | undefined> {
    const { rows } = await this.pool.query<RunRow>(
      `UPDATE refresh_runs SET status = 'cancelled', reason = $2, finished_at = now(), next_attempt_at = NULL
         WHERE dataset_version = $1 AND status IN ('running', 'retrying') RETURNING *`,
      [datasetVersion, reason],
    );
    return rows[0] && toRun(rows[0]);
  }

  /** The reasons of those of these runs that were cancelled. */
  async cancelledAmong(datasetVersions: readonly string[]): Promise<Map<string, string>> {
    const { rows } = await this.pool.query<{ dataset_version: string; reason: string | null }>(
      `SELECT dataset_version, reason FROM refresh_runs WHERE dataset_version = ANY($1::text[]) AND status = 'cancelled'`,
      [datasetVersions],
    );
    return new Map(rows.map((r) => [r.dataset_version, r.reason ?? 'cancelled']));
  }

  async get(datasetVersion: string): Promise<RefreshRun | undefined> {
    const { rows } = await this.pool.query<RunRow>('SELECT * FROM refresh_runs WHERE dataset_version = $1', [
      datasetVersion,
    ]);
    return rows[0] && toRun(rows[0]);
  }

  /** The latest runs, newest first; of one job, of the jobs of one dataset, of one master version when given. */
  async list(
    limit: number,
    filter: {
      job?: string | undefined;
      dataset?: string | undefined;
      masterVersion?: number | undefined;
    } = {},
  ): Promise<RefreshRun[]> {
    const { rows } = await this.pool.query<RunRow>(
      `SELECT * FROM refresh_runs WHERE ($2::text IS NULL OR job = $2) AND ($3::text IS NULL OR dataset = $3)
         AND ($4::bigint IS NULL OR master_version = $4)
       ORDER BY started_at DESC LIMIT $1`,
      [limit, filter.job ?? null, filter.dataset ?? null, filter.masterVersion ?? null],
    );
    return rows.map(toRun);
  }

  async baseline(name: string): Promise<Baseline | undefined> {
    const { rows } = await this.pool.query<{ body: Omit<Baseline, 'name'> }>(
      'SELECT body FROM baselines WHERE name = $1',
      [name],
    );
    return rows[0] && { ...rows[0].body, name };
  }
}

function toRun(r: RunRow): RefreshRun {
  return {
    datasetVersion: r.dataset_version,
    job: r.job,
    dataset: r.dataset,
    trigger: r.trigger,
    scheduledFor: r.scheduled_for?.toISOString() ?? null,
    masterVersion: r.master_version === null ? null : Number(r.master_version),
    runId: r.run_id,
    traceparent: r.traceparent,
    status: r.status,
    failedTask: r.failed_task,
    reason: r.reason,
    sourceHash: r.source_hash,
    reportUri: r.report_uri,
    candidateUri: r.candidate_uri,
    attempt: r.attempt,
    nextAttemptAt: r.next_attempt_at?.toISOString() ?? null,
    startedAt: r.started_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
    heartbeatAt: r.heartbeat_at.toISOString(),
    settings: storedSpec(r.settings),
    settingsOrigin: r.settings_origin,
    catalogRevision: r.catalog_revision === null ? null : Number(r.catalog_revision),
  };
}

/** The settings a run stored, parsed again (defaults added since are filled); null when absent. */
function storedSpec(value: unknown): RefreshJob | null {
  if (value === null || value === undefined) return null;
  const parsed = refreshJobSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

function finishParams(datasetVersion: string, attempt: number, o: RunOutcome): unknown[] {
  return [
    datasetVersion,
    attempt,
    o.status,
    o.failedTask,
    o.reason,
    o.sourceHash,
    o.reportUri,
    o.candidateUri,
  ];
}
