-- Up Migration
-- run_id: the trace id of the run (the run_id of its quality.evaluated), kept across retries.
-- heartbeat_at: touched by the replica executing the run between tasks; a 'running' run whose
-- heartbeat is older than REFRESH_STALE_AFTER_MS lost its replica and is recovered by the poller.
-- current_task: the task the run was last in, named when a stale run is recovered.
ALTER TABLE refresh_runs
  ADD COLUMN run_id text,
  ADD COLUMN heartbeat_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN current_task text;
CREATE INDEX refresh_runs_heartbeat_idx ON refresh_runs (heartbeat_at) WHERE status = 'running';

-- Down Migration
DROP INDEX refresh_runs_heartbeat_idx;
ALTER TABLE refresh_runs DROP COLUMN current_task, DROP COLUMN heartbeat_at, DROP COLUMN run_id;
